/** The exporter's pure parts: points of a window, and its configuration. */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { describeConfig, loadConfig, loadSettings } from '../../core/settings/index.js';
import { ConfigError } from '../../core/errors.js';
import { streamIdTime } from '../../exporter/exporter.js';
import { influxSettings } from '../../exporter/main.js';
import { describeWriteError } from '../../exporter/influx-writer.js';
import { pointsPerWindow, windowLines } from '../../exporter/points.js';

describe('window points', () => {
  const snapshot = {
    start: 1_795_304_350_000,
    end: 1_795_304_360_000,
    final: true,
    orders: 3,
    drinks: 7,
    late: 1,
    age: { '1020': 2, '9999': 1 },
    payment: { Cash: 3 },
    coffee: { 'Caffe Latte': 4, Americano: 3 },
  };

  it('writes one point per catalog value, zeros included, all at the window start in ms', () => {
    const lines = windowLines(snapshot, DEFAULT_CATALOG);
    expect(lines).toHaveLength(pointsPerWindow(DEFAULT_CATALOG));
    expect(lines).toHaveLength(23);
    expect(lines[0]).toBe('windows drinks=7i,final=T,late=1i,orders=3i 1795304350000');
    expect(lines).toContain('drinks_by_coffee,coffee=Caffe\\ Latte drinks=4i 1795304350000');
    expect(lines).toContain('drinks_by_coffee,coffee=Espresso drinks=0i 1795304350000');
    expect(lines).toContain('orders_by_payment,payment=Cash orders=3i 1795304350000');
    expect(lines).toContain('orders_by_age,age_grade=1020 orders=2i 1795304350000');
    for (const line of lines) expect(line.endsWith(' 1795304350000')).toBe(true);
  });

  it('writes a provisional window the same way, so the final one overwrites it', () => {
    const provisional = windowLines({ ...snapshot, final: false, orders: 1 }, DEFAULT_CATALOG);
    const final = windowLines(snapshot, DEFAULT_CATALOG);
    const series = (lines: string[]) => lines.map((l) => `${l.split(/(?<!\\) /)[0]} ${l.split(' ').at(-1)}`);
    expect(series(provisional)).toEqual(series(final));
  });

  it('keeps a value outside the catalog rather than dropping its count', () => {
    const lines = windowLines({ ...snapshot, coffee: { Tea: 1 } }, DEFAULT_CATALOG);
    expect(lines).toContain('drinks_by_coffee,coffee=Tea drinks=1i 1795304350000');
  });
});

describe('exporter configuration', () => {
  it('needs INFLUX_URL for crema export, and makes the exporter optional in crema up', () => {
    expect(() => loadConfig('export', [], {})).toThrow(ConfigError);
    expect(influxSettings(loadConfig('up', [], {}))).toBeUndefined();
    const config = loadConfig('export', ['--influx-bucket', 'crema/autogen'], { INFLUX_URL: 'http://influxdb:8086', INFLUX_TOKEN: 'crema:s3cret' });
    expect(influxSettings(config)).toEqual({ url: 'http://influxdb:8086', token: 'crema:s3cret', org: '', bucket: 'crema/autogen', timeoutMs: 10_000 });
    expect(config.metricsPort).toBe(9467);
    expect(config.provisionalMs).toBe(5000);
  });

  it('masks the token and rejects a URL that is not http', () => {
    const text = describeConfig(loadSettings('export', [], { INFLUX_URL: 'https://u:pw@influx.example.com', INFLUX_TOKEN: 'tok-s3cret' }));
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain(':pw@');
    expect(text).toMatch(/INFLUX_TOKEN\s+\*\*\*/);
    expect(() => loadConfig('export', [], { INFLUX_URL: 'influx:8086' })).toThrow(/INFLUX_URL \(--influx-url\): must be an http/);
  });
});

describe('exporter helpers', () => {
  it('reads the time of a stream entry from its id', () => {
    expect(streamIdTime('1795304350123-4')).toBe(1_795_304_350_123);
  });

  it('names InfluxDB failures by what to fix', () => {
    expect(describeWriteError(new HttpError(401, 'Unauthorized', '{"code":"unauthorized"}')).type).toBe('influx_unauthorized');
    expect(describeWriteError(new HttpError(404, 'Not Found', '{"message":"bucket not found"}')).message).toMatch(/INFLUX_BUCKET/);
    expect(describeWriteError(new HttpError(503, 'Unavailable')).type).toBe('influx_unavailable');
    expect(describeWriteError(new RequestTimedOutError()).type).toBe('influx_timeout');
    expect(describeWriteError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).type).toBe('influx_unavailable');
  });
});
