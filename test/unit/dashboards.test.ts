/** Dashboards as code: the committed JSON is what the code builds; the query builder and macros. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { THRESHOLDS } from '../../core/thresholds.js';
import { coffeeOrdersDashboard } from '../../grafana/dashboards/coffee-orders.js';
import { DASHBOARDS, DASHBOARD_DIR, dashboardJson } from '../../grafana/dashboards/index.js';
import { InfluxQL, identifier } from '../../grafana/influxql.js';
import { expandQuery, intervalText, panelInterval } from '../support/grafana-macros.js';

const root = new URL('../../', import.meta.url);

describe('provisioned dashboards', () => {
  it.each(DASHBOARDS.map((d) => [d.file, d] as const))('%s is what the code builds (run `npm run dashboards`)', (file, d) => {
    const committed = readFileSync(new URL(`${DASHBOARD_DIR}/${file}`, root), 'utf8');
    expect(committed).toBe(dashboardJson(d.build()));
  });

  it('gives every panel a unique id and the provisioned data source', () => {
    const dashboard = coffeeOrdersDashboard();
    const ids = dashboard.panels!.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels!) {
      if (panel.type === 'row') continue;
      expect(panel.datasource, panel.title).toEqual({ type: 'influxdb', uid: 'crema-influxdb' });
    }
  });

  it('draws the alert thresholds from config/thresholds.json', () => {
    const raw = JSON.parse(readFileSync(new URL('config/thresholds.json', root), 'utf8'));
    expect(THRESHOLDS.ordersPerMinute).toEqual(raw.ordersPerMinute);
    const panel = coffeeOrdersDashboard().panels!.find((p) => p.title === 'Orders per minute') as { fieldConfig: { defaults: { thresholds: { steps: { value: number | null }[] } } } };
    expect(panel.fieldConfig.defaults.thresholds.steps.map((s) => s.value)).toEqual([null, raw.ordersPerMinute.low, raw.ordersPerMinute.high]);
  });
});

describe('InfluxQL builder', () => {
  it('builds a per-minute rate by tag over the panel interval', () => {
    const query = InfluxQL.from('drinks_by_coffee').select('sum', 'drinks', { perMinute: true }).whereTagIn('coffee', 'coffee').groupByTime().groupByTag('coffee').fill(0);
    expect(query.toString()).toBe(
      'SELECT sum("drinks") * 60000 / $__interval_ms FROM "drinks_by_coffee" WHERE $timeFilter AND "coffee" =~ /^$coffee$/ GROUP BY time($__interval), "coffee" fill(0)',
    );
  });

  it('quotes identifiers and aliases, and refuses what InfluxQL would not mean', () => {
    expect(identifier('a "b"')).toBe('"a \\"b\\""');
    expect(InfluxQL.from('windows').select('last', 'orders', { as: 'Orders' }).toString()).toBe('SELECT last("orders") AS "Orders" FROM "windows" WHERE $timeFilter');
    expect(() => InfluxQL.from('windows').toString()).toThrow(/selects nothing/);
    expect(() => InfluxQL.from('windows').select('last', 'orders', { perMinute: true })).toThrow(/per-minute/);
    expect(() => InfluxQL.from('windows').whereTagIn('coffee', 'x/y')).toThrow(/variable/);
  });
});

describe('Grafana macro expansion (test support)', () => {
  it('expands the time filter, intervals and multi-value variables as Grafana does', () => {
    const query = 'SELECT sum("x") * 60000 / $__interval_ms FROM "m" WHERE $timeFilter AND "t" =~ /^$coffee$/ GROUP BY time($__interval), time($interval)';
    expect(expandQuery(query, { fromMs: 1000, toMs: 2000, intervalMs: 60_000, variables: { coffee: ['Caffe Latte', 'a.b'] } })).toBe(
      'SELECT sum("x") * 60000 / 60000 FROM "m" WHERE time >= 1000ms and time <= 2000ms AND "t" =~ /^(Caffe Latte|a\\.b)$/ GROUP BY time(1m), time(1m)',
    );
    expect(() => expandQuery('SELECT $unknown', { fromMs: 0, toMs: 1, intervalMs: 1000, variables: {} })).toThrow(/unexpanded/);
  });

  it('rounds the interval like Grafana and keeps the minimum', () => {
    expect(panelInterval(0, 3_600_000, 1000, '10s')).toBe(10_000);
    expect(panelInterval(0, 6 * 3_600_000, 1000, '10s')).toBe(20_000);
    expect(panelInterval(0, 6 * 3_600_000, 1000, '1m')).toBe(60_000);
    expect(intervalText(60_000)).toBe('1m');
    expect(intervalText(500)).toBe('500ms');
  });
});
