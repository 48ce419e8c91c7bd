/**
 * Every query of the "Pipeline health" dashboard (and its alert annotation), with Grafana's
 * `$__rate_interval` expanded, run against a real Prometheus that scraped a running `crema up`:
 * each is valid PromQL and returns the series its panel draws, with plausible values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dataquery as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { THRESHOLDS } from '../../core/thresholds.js';
import { FIRING_ALERTS, pipelineHealthDashboard } from '../../grafana/dashboards/pipeline-health.js';
import { perMinute } from '../../core/thresholds.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/files.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { freePort } from '../support/servers.js';

/** What Grafana makes of `$__rate_interval` for a 1 s scrape and a short range, with margin. */
const RATE_INTERVAL = '15s';
const RATE = 40;
/** Panels with nothing to draw while all is well (the query is still run, so it must be valid). */
const EMPTY_WHEN_HEALTHY = new Set(['Errors by stage and type']);

const dashboard = pipelineHealthDashboard();
const panels = (dashboard.panels ?? []).filter((p): p is Panel => p.type !== 'row');
const dir = tempDir();
let t: TestRedis;
let crema: CremaProcess;
let prometheus: PrometheusServer;

const expand = (expr: string) => expr.replaceAll('$__rate_interval', RATE_INTERVAL);

async function values(expr: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  return (await prometheus.query(expand(expr))).map((s) => ({ labels: s.metric, value: Number(s.value![1]) }));
}

beforeAll(async () => {
  t = testRedis();
  const port = await freePort();
  crema = new CremaProcess('up', ['--redis-url', t.url, '--prefix', t.prefix, '--file', dir.file('orders.jsonl'), '--rate', String(RATE), '--metrics-port', String(port), '--tick-ms', '200']);
  prometheus = await startPrometheus({
    targets: { crema: [`127.0.0.1:${port}`] },
    // An alert that always fires, so the alert panel and annotation have something to show.
    rules: [
      {
        name: 'test',
        rules: [{ alert: 'TestAlwaysFiring', expr: 'vector(1)', labels: { severity: 'warning' }, annotations: { summary: 'test', description: 'test' } }],
      },
    ],
  });
  // Enough scrapes that every rate's range holds the generator's steady rate.
  const ordersPerMinute = `${perMinute('orders', RATE_INTERVAL)} and on() count_over_time(up[${RATE_INTERVAL}]) >= 14`;
  await eventually(async () => ((await values(ordersPerMinute))[0]?.value ?? 0) > RATE * 60 * 0.5, {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: async () => `order rate not scraped: ${JSON.stringify(await values(perMinute('orders', RATE_INTERVAL)))}; crema logs:\n${crema.logs.slice(-2000)}`,
  });
}, 90_000);

afterAll(async () => {
  await crema?.terminate();
  await prometheus?.dispose();
  await t?.cleanup();
  dir.remove();
});

describe('Pipeline health dashboard on a real Prometheus', () => {
  it('has panels that all query the provisioned Prometheus data source', () => {
    expect(panels.length).toBeGreaterThanOrEqual(12);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: 'crema-prometheus' });
      for (const target of panel.targets ?? []) expect((target as { datasource?: unknown }).datasource, panel.title).toEqual(panel.datasource);
    }
  });

  it.each(panels.map((p) => [p.title, p] as const))('panel "%s": every query is valid and returns its series', async (title, panel) => {
    expect(panel.targets?.length).toBeGreaterThan(0);
    for (const target of panel.targets as PromQuery[]) {
      const series = await values(target.expr);
      if (!EMPTY_WHEN_HEALTHY.has(title!)) expect(series.length, `no series for ${target.expr}`).toBeGreaterThan(0);
      for (const s of series) expect(Number.isFinite(s.value), `${target.expr} → ${s.value}`).toBe(true);
    }
  });

  it('shows the values the running pipeline has: up, its order rate, its latency', async () => {
    const byTitle = (title: string) => (panels.find((p) => p.title === title)!.targets as PromQuery[]).map((q) => q.expr);
    expect((await values(byTitle('Up')[0]!)).map((s) => s.value)).toEqual([1]);
    const [rate] = await values(byTitle('Orders per minute')[0]!);
    expect(rate!.value).toBeGreaterThan(RATE * 60 * 0.5);
    expect(rate!.value).toBeLessThan(RATE * 60 * 1.5);
    expect(rate!.value).toBeGreaterThan(THRESHOLDS.ordersPerMinute.low);
    const [p50, p99] = await Promise.all(byTitle('Append → commit latency').map(async (q) => (await values(q))[0]!.value));
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50!);
    expect(p99).toBeLessThan(10);
  });

  it('lists firing alerts in its table and annotations, from the ALERTS series', async () => {
    await eventually(async () => (await values(FIRING_ALERTS)).some((s) => s.labels.alertname === 'TestAlwaysFiring'), {
      timeoutMs: 15_000,
      message: 'TestAlwaysFiring never in ALERTS',
    });
    const annotation = dashboard.annotations?.list?.find((a) => a.name === 'Firing alerts') as { expr?: string } | undefined;
    expect(annotation?.expr).toBe(FIRING_ALERTS);
  });
});
