/**
 * The two charts: stacked bars per window (by the chosen dimension) and a line of orders per
 * window, sharing one local-time axis. Text only ever goes in through `.text()`.
 *
 * Windows still counting (not final) are marked: their bars hatched, their points hollow and left
 * out of the line, so a window half counted never reads as a drop. Each chart's key says so.
 */
import {
  type Selection,
  type SeriesPoint,
  axisBottom,
  axisLeft,
  line,
  max,
  scaleBand,
  scaleLinear,
  scaleOrdinal,
  schemeTableau10,
  select,
  stack,
  timeFormat,
  transition,
} from 'd3';
import { type Dimension, type Slot, categories, countLabel, slotIsOpen } from './window-store.js';

// Room above the plot for the axis label.
const MARGIN = { top: 24, right: 26, bottom: 24, left: 44 };
const DURATION = 450;
const clock = timeFormat('%H:%M:%S');
// Ten well-separated colours, kept per category so a category keeps its colour across updates.
const colour = scaleOrdinal<string, string>(schemeTableau10);
/** The fill that marks open windows; the pattern lives in the bars' SVG, the keys use it too. */
export const OPEN_HATCH = 'open-hatch';

type SvgSelection = Selection<SVGSVGElement, unknown, null, undefined>;
type GSelection = Selection<SVGGElement, unknown, null, undefined>;
type TextSelection = Selection<SVGTextElement, unknown, null, undefined>;

function frame(container: HTMLElement): { svg: SvgSelection; plot: GSelection; xAxis: GSelection; yAxis: GSelection; yLabel: TextSelection } {
  const svg = select(container).append('svg').attr('role', 'img');
  const plot = svg.append('g').attr('class', 'plot-area');
  const xAxis = svg.append('g').attr('class', 'axis axis-x');
  const yAxis = svg.append('g').attr('class', 'axis axis-y');
  // Above the y axis, reading left to right: what the values count.
  const yLabel = svg.append('text').attr('class', 'y-label').attr('x', 4).attr('y', 12);
  return { svg, plot, xAxis, yAxis, yLabel };
}

function size(container: HTMLElement): { width: number; height: number } {
  return { width: Math.max(240, container.clientWidth), height: Math.max(100, container.clientHeight) };
}

/** Ticks that fit: about one label per 70 px. */
function tickStarts(starts: readonly number[], width: number): number[] {
  const every = Math.max(1, Math.ceil(starts.length / Math.max(2, Math.floor(width / 70))));
  return starts.filter((_, i) => (starts.length - 1 - i) % every === 0);
}

export class StackedBars {
  private readonly parts: ReturnType<typeof frame>;
  private readonly marks: GSelection;

  constructor(
    private readonly container: HTMLElement,
    private readonly legend: HTMLElement,
  ) {
    this.parts = frame(container);
    this.parts.svg.attr('aria-label', 'Stacked bars per window');
    const hatch = this.parts.svg
      .insert('defs', ':first-child')
      .append('pattern')
      .attr('id', OPEN_HATCH)
      .attr('patternUnits', 'userSpaceOnUse')
      .attr('width', 6)
      .attr('height', 6)
      .attr('patternTransform', 'rotate(45)');
    hatch.append('line').attr('class', 'hatch-line').attr('x1', 0).attr('y1', 0).attr('x2', 0).attr('y2', 6);
    // Over the bars: a hatched veil on each open window's stack.
    this.marks = this.parts.svg.insert('g', '.axis-x').attr('class', 'open-marks');
  }

  render(slots: readonly Slot[], dimension: Dimension, windowMs: number, now: number): void {
    const { svg, plot, xAxis, yAxis, yLabel } = this.parts;
    const { width, height } = size(this.container);
    svg.attr('viewBox', `0 0 ${width} ${height}`);
    yLabel.text(countLabel(dimension, windowMs));
    const windows = slots.flatMap((s) => (s.window ? [s.window] : []));
    const keys = categories(windows, dimension);
    colour.domain([...new Set([...colour.domain(), ...keys])]);
    const isOpen = (slot: Slot) => slotIsOpen(slot, now, windowMs);
    const total = (slot: Slot) => keys.reduce((sum, key) => sum + (slot.window?.[dimension][key] ?? 0), 0);

    const starts = slots.map((s) => s.start);
    const x = scaleBand<number>().domain(starts).range([MARGIN.left, width - MARGIN.right]).padding(0.18);
    const series = stack<Slot>()
      .keys(keys)
      .value((slot, key) => slot.window?.[dimension][key] ?? 0)([...slots]);
    const top = max(series, (s) => max(s, (p) => p[1])) ?? 0;
    const y = scaleLinear().domain([0, Math.max(top, 1)]).nice().range([height - MARGIN.bottom, MARGIN.top]);

    const t = transition().duration(DURATION);
    xAxis
      .attr('transform', `translate(0,${height - MARGIN.bottom})`)
      .call(axisBottom(x).tickValues(tickStarts(starts, width)).tickFormat((d) => clock(new Date(d))).tickSizeOuter(0));
    yAxis.attr('transform', `translate(${MARGIN.left},0)`).transition(t).call(axisLeft(y).ticks(5).tickSizeOuter(0));

    plot
      .selectAll<SVGGElement, (typeof series)[number]>('g.layer')
      .data(series, (s) => s.key)
      .join('g')
      .attr('class', 'layer')
      .attr('data-key', (s) => s.key)
      .attr('fill', (s) => colour(s.key))
      .each(function (layer) {
        const bars = select(this)
          .selectAll<SVGRectElement, SeriesPoint<Slot>>('rect.bar')
          .data(
            layer.filter((p) => p.data.window !== undefined),
            (p) => String(p.data.start),
          );
        bars
          .join(
            (enter) =>
              enter
                .append('rect')
                .attr('class', 'bar')
                .attr('x', (p) => x(p.data.start) ?? 0)
                .attr('width', x.bandwidth())
                .attr('y', y(0))
                .attr('height', 0)
                .call((rect) => rect.append('title')),
            (update) => update,
            (exit) => exit.remove(),
          )
          .attr('data-start', (p) => p.data.start)
          .classed('open', (p) => isOpen(p.data))
          .call((rect) =>
            rect
              .select('title')
              .text((p) => `${clock(new Date(p.data.start))} · ${layer.key}: ${p[1] - p[0]}${isOpen(p.data) ? ' (still counting)' : ''}`),
          )
          .transition(t)
          .attr('x', (p) => x(p.data.start) ?? 0)
          .attr('width', x.bandwidth())
          .attr('y', (p) => y(p[1]))
          .attr('height', (p) => Math.max(0, y(p[0]) - y(p[1])));
      });

    this.marks
      .selectAll<SVGRectElement, Slot>('rect.open-mark')
      .data(
        slots.filter((s) => s.window !== undefined && isOpen(s)),
        (s) => String(s.start),
      )
      .join((enter) =>
        enter
          .append('rect')
          .attr('class', 'open-mark')
          .attr('fill', `url(#${OPEN_HATCH})`)
          .attr('x', (s) => x(s.start) ?? 0)
          .attr('width', x.bandwidth())
          .attr('y', y(0))
          .attr('height', 0),
      )
      .attr('data-start', (s) => s.start)
      .transition(t)
      .attr('x', (s) => x(s.start) ?? 0)
      .attr('width', x.bandwidth())
      .attr('y', (s) => y(total(s)))
      .attr('height', (s) => Math.max(0, y(0) - y(total(s))));

    select(this.legend)
      .selectAll<HTMLLIElement, string>('li')
      .data(keys, (k) => k)
      .join((enter) =>
        enter.append('li').call((li) => {
          li.append('svg').attr('viewBox', '0 0 12 12').attr('aria-hidden', 'true').append('rect').attr('width', 12).attr('height', 12).attr('rx', 2);
          li.append('span');
        }),
      )
      .call((li) => li.select('rect').attr('fill', (k) => colour(k)))
      .call((li) => li.select('span').text((k) => k));
  }
}

export class OrdersLine {
  private readonly parts: ReturnType<typeof frame>;

  constructor(private readonly container: HTMLElement) {
    this.parts = frame(container);
    this.parts.svg.attr('aria-label', 'Orders per window');
    this.parts.plot.append('path').attr('class', 'orders-line');
  }

  render(slots: readonly Slot[], windowMs: number, now: number): void {
    const { svg, plot, xAxis, yAxis, yLabel } = this.parts;
    const { width, height } = size(this.container);
    svg.attr('viewBox', `0 0 ${width} ${height}`);
    yLabel.text(countLabel('orders', windowMs));
    const isOpen = (slot: Slot) => slotIsOpen(slot, now, windowMs);
    const starts = slots.map((s) => s.start);
    const x = scaleBand<number>().domain(starts).range([MARGIN.left, width - MARGIN.right]).padding(0.18);
    const cx = (start: number) => (x(start) ?? 0) + x.bandwidth() / 2;
    const orders = (s: Slot) => s.window?.orders ?? 0;
    const y = scaleLinear()
      .domain([0, Math.max(1, max(slots, orders) ?? 0)])
      .nice()
      .range([height - MARGIN.bottom, MARGIN.top]);
    const t = transition().duration(DURATION);
    xAxis
      .attr('transform', `translate(0,${height - MARGIN.bottom})`)
      .call(axisBottom(x).tickValues(tickStarts(starts, width)).tickFormat((d) => clock(new Date(d))).tickSizeOuter(0));
    yAxis.attr('transform', `translate(${MARGIN.left},0)`).transition(t).call(axisLeft(y).ticks(3).tickSizeOuter(0));
    // Straight segments between the counts (d3's default, linear curve): nothing drawn between
    // windows that was not counted. Open windows are not on the line: their counts still grow.
    const path = line<Slot>()
      .defined((s) => !isOpen(s))
      .x((s) => cx(s.start))
      .y((s) => y(orders(s)));
    plot.select<SVGPathElement>('path.orders-line').datum([...slots]).transition(t).attr('d', path);
    plot
      .selectAll<SVGCircleElement, Slot>('circle.orders-dot')
      .data(slots, (s) => String(s.start))
      .join((enter) =>
        enter
          .append('circle')
          .attr('class', 'orders-dot')
          .attr('r', 3)
          .attr('cx', (s) => cx(s.start))
          .attr('cy', y(0))
          .call((circle) => circle.append('title')),
      )
      .attr('data-start', (s) => s.start)
      .attr('data-orders', (s) => orders(s))
      .classed('open', isOpen)
      .call((circle) => circle.select('title').text((s) => `${clock(new Date(s.start))} · ${orders(s)} orders${isOpen(s) ? ' (still counting)' : ''}`))
      .transition(t)
      .attr('cx', (s) => cx(s.start))
      .attr('cy', (s) => y(orders(s)));
  }
}

export type { Slot };
