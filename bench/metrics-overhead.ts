/**
 * Metrics on the hot paths: collector and processor throughput with live prom-client metrics
 * (scraped every second, harsher than Prometheus's usual 10 s) against the same stages with every
 * metric a no-op. Runs alternate on/off so that drift on a shared machine hits both alike; the
 * medians are compared. `npm run bench` includes it; `npm run bench:metrics` runs it alone.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '../core/metrics.js';
import { benchCollector } from './collector.js';
import { benchProcessor, frame } from './processor.js';
import { freshMetrics } from './support.js';

/** Metrics whose every update does nothing: the stages as if they had no metrics. */
export function disabledMetrics(): Metrics {
  const metrics = freshMetrics();
  const noop = () => {};
  const silence = (value: unknown): void => {
    if (value instanceof Counter || value instanceof Gauge || value instanceof Histogram) {
      const metric = value as unknown as Record<string, unknown>;
      for (const method of ['inc', 'dec', 'set', 'observe', 'reset']) metric[method] = noop;
      metric.startTimer = () => noop;
      metric.labels = () => metric;
      return;
    }
    if (value !== null && typeof value === 'object' && value !== metrics.registry) for (const child of Object.values(value)) silence(child);
  };
  silence(metrics);
  return metrics;
}

/** Runs `measure` with live metrics, scraped every second while it runs. */
async function withScrapedMetrics<T>(measure: (metrics: Metrics) => Promise<T>): Promise<T> {
  const metrics = freshMetrics();
  const scraper = setInterval(() => void metrics.registry.metrics(), 1000);
  try {
    return await measure(metrics);
  } finally {
    clearInterval(scraper);
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface OverheadResult {
  /** Median throughput per second with metrics on and off, every run, and on ÷ off. */
  readonly on: number;
  readonly off: number;
  readonly runsOn: number[];
  readonly runsOff: number[];
  readonly ratio: number;
}

async function compare(rounds: number, run: (metrics: Metrics) => Promise<number>): Promise<OverheadResult> {
  const runsOn: number[] = [];
  const runsOff: number[] = [];
  await run(disabledMetrics()); // warm-up: JIT, Redis memory
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so neither always runs on a warmer or emptier Redis.
    const order = i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    for (const mode of order) {
      if (mode === 'on') runsOn.push(await withScrapedMetrics(run));
      else runsOff.push(await run(disabledMetrics()));
    }
  }
  const on = median(runsOn);
  const off = median(runsOff);
  return { on, off, runsOn, runsOff, ratio: on / off };
}

/**
 * Collector (lines/s: all `fileLines` lines of `file`) and processor (orders/s: `lines`)
 * throughput, metrics on against off.
 */
export async function benchMetricsOverhead(
  url: string,
  file: string,
  fileLines: number,
  lines: readonly string[],
  rounds: number,
): Promise<{ collector: OverheadResult; processor: OverheadResult }> {
  const collector = await compare(rounds, async (metrics) => (await benchCollector(url, file, fileLines, metrics)).linesPerSecond);
  const envelopes = frame(lines);
  const processor = await compare(rounds, async (metrics) => (await benchProcessor(url, envelopes, 1000, metrics)).ordersPerSecond);
  return { collector, processor };
}

/**
 * What the metric updates of one committed batch cost, measured alone (µs): the collector's and
 * the processor's per-batch updates, as their commit paths make them. Throughput runs on a shared
 * machine vary by more than this, so it bounds the overhead from below the noise.
 */
export function metricUpdateCostUs(iterations = 200_000): { collectorBatch: number; processorBatch: number } {
  const { collector, processor } = freshMetrics();
  const source = '/data/orders.jsonl';
  const time = (update: (i: number) => void) => {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) update(i);
    return ((performance.now() - started) * 1000) / iterations;
  };
  const collectorBatch = time((i) => {
    collector.queueLength.set(i);
    collector.lines.inc({ source }, 1000);
    collector.bytes.inc({ source }, 250_000);
  });
  const processorBatch = time((i) => {
    processor.commitDuration.observe(0.002);
    processor.batchSize.observe(1000);
    processor.orders.inc({ result: 'counted' }, 998);
    processor.orders.inc({ result: 'dead' }, 2);
    processor.drinks.inc(5500);
    processor.deadLetters.inc({ reason: 'invalid_json' }, 2);
    processor.latency.observe((i % 100) / 1000);
  });
  return { collectorBatch, processorBatch };
}
