/** Shared pieces of the benchmark: servers, timing, percentiles, order files. */
import { open } from 'node:fs/promises';
import { pino } from 'pino';
import { DEFAULT_CATALOG } from '../core/catalog.js';
import { RedisKeys } from '../core/keys.js';
import { createMetrics } from '../core/metrics.js';
import { OrderFactory } from '../generator/orders.js';

export { startLocalRedis, type RedisServer } from '../test/support/servers.js';

export const quietLog = pino({ level: 'silent' });

export function freshMetrics() {
  return createMetrics('bench');
}

let run = 0;
/** A key prefix of its own for each measurement. */
export function benchKeys(): RedisKeys {
  return new RedisKeys(`bench:${process.pid}:${run++}:`);
}

/** Writes `count` generated orders to `path` (bulk, as `crema generate --bulk` does). */
export async function writeOrderFile(path: string, count: number, seed = 1): Promise<number> {
  const factory = new OrderFactory(DEFAULT_CATALOG, seed);
  const handle = await open(path, 'w');
  let bytes = 0;
  try {
    for (let written = 0; written < count; ) {
      const n = Math.min(10_000, count - written);
      let text = '';
      for (let i = 0; i < n; i++) text += `${factory.line()}\n`;
      bytes += Buffer.byteLength(text);
      await handle.write(text);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`benchmark condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resident memory of a process in MiB, from /proc. */
export async function rssMiB(pid: number = process.pid): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

export const round = (n: number, digits = 0) => Number(n.toFixed(digits));
