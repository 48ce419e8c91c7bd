/**
 * Append → committed latency at a steady rate, with the collector and the processor as separate
 * processes. The processor commits in queue order, so the committed total tells which lines are in:
 * line i is committed at the first moment the total exceeds i.
 */
import { openSync, closeSync, writeSync } from 'node:fs';
import { DEFAULT_CATALOG } from '../core/catalog.js';
import { connectRedis, createRedis } from '../core/redis.js';
import { OrderFactory } from '../generator/orders.js';
import { spawnCrema, stop } from './processes.js';
import { benchKeys, percentile, waitUntil } from './support.js';

export async function benchLatency(url: string, file: string, ratePerSecond: number, seconds: number) {
  const keys = benchKeys();
  const common = ['--redis-url', url, '--prefix', keys.prefix];
  const collector = spawnCrema('collect', [...common, '--file', file, '--from', 'end']);
  const processor = spawnCrema('process', [...common, '--consumer', 'bench-latency']);
  const probe = createRedis(url, { name: 'bench-latency' });
  await connectRedis(probe);
  const fd = openSync(file, 'a');
  await waitUntil(async () => (await probe.hlen(keys.offsets)) === 1 && (await probe.exists(keys.lease('bench-latency'))) === 1, 20_000, 20);

  const factory = new OrderFactory(DEFAULT_CATALOG, 5);
  const total = Math.round(ratePerSecond * seconds);
  const appendedAt = new Float64Array(total);
  const committedAt = new Float64Array(total);
  let appended = 0;
  let committed = 0;
  const started = performance.now();

  const writer = (async () => {
    while (appended < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSecond));
      if (due > appended) {
        let text = '';
        for (let i = appended; i < due; i++) text += `${factory.line()}\n`;
        writeSync(fd, text);
        const now = performance.now();
        for (let i = appended; i < due; i++) appendedAt[i] = now;
        appended = due;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();

  const watcher = (async () => {
    while (committed < total) {
      const starts = await probe.zrange(keys.windows, '0', '-1');
      const pipeline = probe.pipeline();
      for (const s of starts) pipeline.hget(keys.window(Number(s)), 'orders');
      const replies = (await pipeline.exec()) ?? [];
      const now = performance.now();
      const sum = replies.reduce((acc, [, v]) => acc + Number(v ?? 0), 0);
      for (let i = committed; i < Math.min(sum, total); i++) committedAt[i] = now;
      committed = Math.max(committed, Math.min(sum, total));
      if (performance.now() - started > (seconds + 30) * 1000) throw new Error('latency benchmark: orders not committed in time');
      await new Promise((r) => setTimeout(r, 2));
    }
  })();

  await Promise.all([writer, watcher]);
  closeSync(fd);
  await Promise.all([stop(collector), stop(processor)]);
  const leftovers = await probe.keys(`${keys.prefix}*`);
  if (leftovers.length > 0) await probe.unlink(...leftovers);
  probe.disconnect();

  // The first second warms up the processes.
  const skip = Math.min(total - 1, Math.round(ratePerSecond));
  const latencies = Array.from({ length: total - skip }, (_, k) => committedAt[k + skip]! - appendedAt[k + skip]!).sort((a, b) => a - b);
  return { orders: total, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1)! };
}
