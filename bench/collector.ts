/** Collector throughput: file → queue, exactly once, and the seed's one-RPUSH-per-line baseline. */
import { Collector } from '../collector/collector.js';
import { loadConfig } from '../core/settings/index.js';
import { connectRedis, createRedis } from '../core/redis.js';
import { EnvelopeFramer } from '../core/envelope.js';
import type { Metrics } from '../core/metrics.js';
import { benchKeys, freshMetrics, quietLog, waitUntil } from './support.js';

/** Collector with the default configuration's batch size, unless told otherwise. */
export async function benchCollector(
  url: string,
  file: string,
  lines: number,
  metrics: Metrics = freshMetrics(),
  batchLines: number = loadConfig('collect', [], {}).collectBatch,
): Promise<{ linesPerSecond: number; seconds: number }> {
  const keys = benchKeys();
  const redis = createRedis(url, { name: 'bench-collector' });
  const probe = createRedis(url, { name: 'bench-probe' });
  await Promise.all([connectRedis(redis), connectRedis(probe)]);
  const collector = new Collector({
    redis,
    shards: [keys],
    files: [file],
    host: 'bench',
    from: 'beginning',
    maxLineBytes: 1024 * 1024,
    batchLines,
    queueMax: 100_000_000,
    pollMs: 50,
    log: quietLog,
    metrics,
  });
  const started = performance.now();
  void collector.start();
  await waitUntil(async () => (await probe.llen(keys.queue)) >= lines, 120_000, 10);
  const seconds = (performance.now() - started) / 1000;
  await collector.close();
  await probe.unlink(keys.queue, keys.offsets);
  redis.disconnect();
  probe.disconnect();
  return { linesPerSecond: lines / seconds, seconds };
}

/** The original design's sink: one RPUSH per line, each awaited. */
export async function benchRpushPerLine(url: string, lines: readonly string[]): Promise<{ linesPerSecond: number }> {
  const keys = benchKeys();
  const redis = createRedis(url, { name: 'bench-rpush' });
  await connectRedis(redis);
  const framer = new EnvelopeFramer('bench', '/bench', 'f.0');
  const started = performance.now();
  for (const [i, line] of lines.entries()) await redis.rpush(keys.queue, framer.frame(i, Date.now(), line));
  const seconds = (performance.now() - started) / 1000;
  await redis.unlink(keys.queue);
  redis.disconnect();
  return { linesPerSecond: lines.length / seconds };
}
