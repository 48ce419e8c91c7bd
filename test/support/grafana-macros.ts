/**
 * Grafana's InfluxQL macro and variable expansion, as its InfluxDB data source and template
 * service do it, so dashboard queries can be run against a real InfluxDB in tests:
 * `$timeFilter` → `time >= <from>ms and time <= <to>ms` (absolute range), `$__interval` and
 * `$interval` → the panel's interval (range / max data points, rounded the way Grafana rounds it,
 * never below the panel's minimum interval), `$__interval_ms` → the same in ms, and a multi-value
 * variable inside a regex → `(v1|v2|…)` with each value regex-escaped.
 */

/** Grafana's `rangeutil.roundInterval`: snaps a raw interval (ms) to a readable one. */
export function roundInterval(ms: number): number {
  const steps: [number, number][] = [
    [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000], [7500, 5000],
    [12500, 10000], [17500, 15000], [25000, 20000], [45000, 30000], [90000, 60000], [210000, 120000], [450000, 300000],
    [750000, 600000], [1050000, 900000], [1500000, 1200000], [2700000, 1800000], [5400000, 3600000], [9000000, 7200000],
    [16200000, 10800000], [32400000, 21600000], [86400000, 43200000], [604800000, 86400000], [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  for (const [below, rounded] of steps) if (ms < below) return rounded;
  return 31536000000;
}

/** Grafana's `rangeutil.secondsToHms` for an interval: its largest whole unit (`1m`, `30s`, `2h`, `500ms`). */
export function intervalText(ms: number): string {
  const units: [number, string][] = [[31536000000, 'y'], [604800000, 'w'], [86400000, 'd'], [3600000, 'h'], [60000, 'm'], [1000, 's'], [1, 'ms']];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Parses `10s`, `1m`, `2h`, `500ms`. */
export function parseInterval(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(text);
  if (!match) throw new Error(`not an interval: ${text}`);
  const size = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000, y: 31536000000 }[match[2] as 'ms'];
  return Number(match[1]) * size;
}

/** Grafana's `rangeutil.calculateInterval`. */
export function panelInterval(fromMs: number, toMs: number, maxDataPoints: number, minInterval: string | undefined): number {
  const raw = roundInterval((toMs - fromMs) / maxDataPoints);
  const floor = minInterval ? parseInterval(minInterval) : 0;
  return Math.max(raw, floor);
}

const escapeRegex = (value: string) => value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

export interface ExpansionContext {
  readonly fromMs: number;
  readonly toMs: number;
  readonly intervalMs: number;
  /** Values of the multi-value template variables (all of them selected). */
  readonly variables: Readonly<Record<string, readonly string[]>>;
}

/** The query Grafana would send to InfluxDB. */
export function expandQuery(query: string, context: ExpansionContext): string {
  let expanded = query
    .replaceAll('$timeFilter', `time >= ${context.fromMs}ms and time <= ${context.toMs}ms`)
    .replaceAll('$__interval_ms', String(context.intervalMs))
    .replaceAll('$__interval', intervalText(context.intervalMs))
    .replaceAll('$interval', intervalText(context.intervalMs));
  for (const [name, values] of Object.entries(context.variables)) {
    expanded = expanded.replace(new RegExp(`\\$${name}\\b|\\$\\{${name}\\}`, 'g'), `(${values.map(escapeRegex).join('|')})`);
  }
  if (/\$\w/.test(expanded)) throw new Error(`unexpanded macro or variable in: ${expanded}`);
  return expanded;
}
