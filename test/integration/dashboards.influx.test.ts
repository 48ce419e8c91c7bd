/**
 * Every panel query of every provisioned dashboard, with Grafana's macros expanded as Grafana
 * expands them, run against a real InfluxDB after a real pipeline run (collector, processor,
 * exporter): each returns the series it should, with exact values for each measurement.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { type WindowSnapshot, snapshotFromHash } from '../../core/window-snapshot.js';
import { DASHBOARDS } from '../../grafana/dashboards/index.js';
import type { InfluxQLDataquery } from '../../grafana/influxql.js';
import { eventually } from '../support/eventually.js';
import { LineWriter } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { expandQuery, panelInterval } from '../support/grafana-macros.js';
import { type InfluxSeries, type InfluxServer, startInfluxDB } from '../support/influx.js';
import { influxLines, redisLines } from '../support/influx-truth.js';
import { expectedWindows, orderLines } from '../support/orders.js';

const W = 10_000;
const MINUTE = 60_000;
const WINDOWS = 120; // 20 minutes
/** The data source's minimum interval (grafana/provisioning/datasources/influxdb.yaml). */
const DATASOURCE_MIN_INTERVAL = '10s';
/** Grafana's max data points: the panel's width in pixels, unless set. */
const MAX_DATA_POINTS = 1000;

let influx: InfluxServer;
const env = useTestEnvironment({ scope: 'file' });
let database: string;
let windows: WindowSnapshot[];
const firstStart = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE;
const range = { fromMs: firstStart, toMs: firstStart + WINDOWS * W - 1 };

beforeAll(async () => {
  influx = await startInfluxDB();
  // After the exporter has closed.
  env.onCleanup(() => influx.dispose());
  database = await influx.createDatabase();
  const lines = orderLines(5000, { seed: 21, firstStart, windowMs: W, windows: WINDOWS });
  const file = env.dir.file('orders.jsonl');
  new LineWriter(file).write(`${lines.join('\n')}\n`);
  env.startCollector([file]);
  env.startProcessor();
  env.startExporter(influx, database);
  // Some orders are counted after their (past) window closed: late, and re-exported as revised.
  const expected = expectedWindows(lines, W);
  const counted = async () => {
    const starts = await env.redis.client.zrange(env.redis.keys.windows, '0', '-1');
    let orders = 0;
    for (const start of starts) orders += Number((await env.redis.client.hget(env.redis.keys.window(Number(start)), 'orders')) ?? 0);
    return starts.length === expected.size && orders === lines.length;
  };
  await eventually(async () => (await counted()) && (await env.redis.client.zcard(env.redis.keys.open)) === 0 && (await env.redis.client.scard(env.redis.keys.dirty)) === 0, {
    timeoutMs: 30_000,
    message: 'pipeline did not count every order and close every window',
  });
  await eventually(async () => JSON.stringify(await influxLines(influx, database)) === JSON.stringify(await redisLines(env.redis.client, env.redis.keys)), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'InfluxDB does not hold what Redis holds',
  });
  windows = [];
  for (const start of (await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')).map(Number)) {
    windows.push(snapshotFromHash(start, W, await env.redis.client.hgetall(env.redis.keys.window(start))));
  }
  // The pipeline counted what the lines say: the truth below is the input's.
  expect(windows.map((w) => [w.start, w.orders, w.drinks])).toEqual([...expected].sort(([a], [b]) => a - b).map(([start, e]) => [start, e.orders, e.drinks]));
}, 90_000);



/** Totals per bucket of `bucketMs` (bucket start → sum), over every minute of the range. */
function perBucket(value: (w: WindowSnapshot) => number, bucketMs: number): [number, number][] {
  const sums = new Map<number, number>();
  for (let b = Math.floor(range.fromMs / bucketMs) * bucketMs; b <= range.toMs; b += bucketMs) sums.set(b, 0);
  for (const w of windows) {
    const b = Math.floor(w.start / bucketMs) * bucketMs;
    sums.set(b, (sums.get(b) ?? 0) + value(w));
  }
  return [...sums];
}

const total = (value: (w: WindowSnapshot) => number) => windows.reduce((sum, w) => sum + value(w), 0);
const newest = () => windows[windows.length - 1]!;

/** Series as `{name → [[time, value], …]}`, named the way the panel's alias names them. */
function named(series: InfluxSeries[], alias: string | undefined): Record<string, unknown[][]> {
  return Object.fromEntries(
    series.map((s) => {
      const tag = alias?.startsWith('$tag_') ? s.tags?.[alias.slice('$tag_'.length)] : undefined;
      return [tag ?? s.name, s.values];
    }),
  );
}

type Expectation = (series: InfluxSeries[], target: InfluxQLDataquery, intervalMs: number) => void;

/** What each panel must show; a panel without an entry fails the test. */
const EXPECTED: Record<string, Expectation> = {
  'Newest window': (series) => {
    expect(series[0]!.columns).toEqual(['time', 'Orders', 'Drinks', 'Late orders']);
    expect(series[0]!.values[0]!.slice(1)).toEqual([newest().orders, newest().drinks, newest().late]);
  },
  Orders: (series) => expect(series[0]!.values[0]![1]).toBe(total((w) => w.orders)),
  Drinks: (series) => expect(series[0]!.values[0]![1]).toBe(total((w) => w.drinks)),
  'Late orders': (series) => expect(series[0]!.values[0]![1]).toBe(total((w) => w.late)),
  'Late orders over time': (series, _target, intervalMs) => expect(series[0]!.values).toEqual(perBucket((w) => w.late, intervalMs)),
  'Orders per minute': (series, _target, intervalMs) => {
    expect(intervalMs).toBe(MINUTE);
    expect(series[0]!.values).toEqual(perBucket((w) => w.orders, MINUTE));
  },
  'Drinks per minute': (series) => expect(series[0]!.values).toEqual(perBucket((w) => w.drinks, MINUTE)),
  'Drinks per minute by coffee type': (series, target) => {
    const actual = named(series, target.alias);
    expect(Object.keys(actual).sort()).toEqual([...DEFAULT_CATALOG.coffeeTypes].sort());
    for (const coffee of DEFAULT_CATALOG.coffeeTypes) expect(actual[coffee], coffee).toEqual(perBucket((w) => w.coffee[coffee] ?? 0, MINUTE));
  },
  'Top coffees': (series, target) => {
    const actual = named(series, target.alias);
    const expected = Object.fromEntries(DEFAULT_CATALOG.coffeeTypes.map((c) => [c, total((w) => w.coffee[c] ?? 0)]));
    expect(Object.fromEntries(Object.entries(actual).map(([c, values]) => [c, values[0]![1]]))).toEqual(expected);
  },
  'Orders per minute by payment method': (series, target) => {
    const actual = named(series, target.alias);
    expect(Object.keys(actual).sort()).toEqual([...DEFAULT_CATALOG.paymentMethods].sort());
    for (const method of DEFAULT_CATALOG.paymentMethods) expect(actual[method], method).toEqual(perBucket((w) => w.payment[method] ?? 0, MINUTE));
  },
  'Orders by customer age grade': (series, target) => {
    const actual = named(series, target.alias);
    const expected = Object.fromEntries(DEFAULT_CATALOG.ageGrades.map((g) => [g, total((w) => w.age[g] ?? 0)]));
    expect(Object.fromEntries(Object.entries(actual).map(([g, values]) => [g, values[0]![1]]))).toEqual(expected);
  },
};

describe.each(DASHBOARDS.filter((d) => d.datasource.type === 'influxdb').map((d) => [d.file, d.build()] as const))('%s', (_file, dashboard) => {
  const panels = (dashboard.panels ?? []).filter((p): p is Panel => p.type !== 'row');
  const variables = { coffee: [...DEFAULT_CATALOG.coffeeTypes] };

  it('has an expectation for every panel', () => {
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) expect(Object.keys(EXPECTED), `no expectation for panel "${panel.title}"`).toContain(panel.title);
  });

  it.each(panels.map((p) => [p.title, p] as const))('panel "%s" returns its series with the expected values', async (_title, panel) => {
    expect(panel.targets?.length).toBeGreaterThan(0);
    const intervalMs = panelInterval(range.fromMs, range.toMs, panel.maxDataPoints ?? MAX_DATA_POINTS, panel.interval ?? DATASOURCE_MIN_INTERVAL);
    for (const target of panel.targets as InfluxQLDataquery[]) {
      expect(target.datasource.uid).toBe('crema-influxdb');
      const query = expandQuery(target.query, { ...range, intervalMs, variables });
      const series = await influx.query(database, query);
      expect(series.length, `no series for ${query}`).toBeGreaterThan(0);
      EXPECTED[panel.title!]!(series, target, intervalMs);
    }
  });
});
