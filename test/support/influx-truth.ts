/** Compares what InfluxDB holds with the window hashes in Redis: the exporter's promise. */
import type { Redis } from 'ioredis';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import type { RedisKeys } from '../../core/keys.js';
import { type WindowSnapshot, snapshotFromHash } from '../../core/window-snapshot.js';
import { windowLines } from '../../exporter/points.js';
import type { InfluxServer } from './influx.js';

/**
 * Every point of every measurement in `database` as `measurement,tags fields timestamp` (fields
 * sorted), sorted: comparable line by line with {@link redisLines}.
 */
export async function influxLines(influx: InfluxServer, database: string): Promise<string[]> {
  const lines: string[] = [];
  for (const series of await influx.query(database, 'SELECT * FROM "windows", "drinks_by_coffee", "orders_by_payment", "orders_by_age"')) {
    const time = series.columns.indexOf('time');
    for (const row of series.values) {
      const tags: string[] = [];
      const fields: string[] = [];
      series.columns.forEach((column, i) => {
        if (i === time || row[i] === null) return;
        if (['coffee', 'payment', 'age_grade'].includes(column)) tags.push(`${column}=${String(row[i]).replace(/ /g, '\\ ')}`);
        else fields.push(`${column}=${typeof row[i] === 'boolean' ? (row[i] ? 'T' : 'F') : `${row[i]}i`}`);
      });
      lines.push(`${[series.name, ...tags].join(',')} ${fields.sort().join(',')} ${row[time]}`);
    }
  }
  return lines.sort();
}

/** The lines Redis's current window hashes should produce, in the same form as {@link influxLines}. */
export async function redisLines(client: Redis, keys: RedisKeys): Promise<string[]> {
  const starts = (await client.zrange(keys.windows, '0', '-1')).map(Number);
  const lines: string[] = [];
  for (const start of starts) lines.push(...snapshotLines(snapshotFromHash(start, 0, await client.hgetall(keys.window(start)))));
  return lines.sort();
}

/** The points the exporter writes for one window, in the form of {@link influxLines}. */
export function snapshotLines(snapshot: WindowSnapshot): string[] {
  return windowLines(snapshot, DEFAULT_CATALOG).map((line) => {
    const [series, fields, time] = line.split(/(?<!\\) /);
    return `${series} ${fields!.split(',').sort().join(',')} ${time}`;
  });
}
