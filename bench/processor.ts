/** Processor throughput: queue → committed windows, exactly once; the one-LPOP-per-order baseline; parse + count alone. */
import { DEFAULT_CATALOG } from '../core/catalog.js';
import { EnvelopeFramer, parseEnvelope } from '../core/envelope.js';
import type { RedisKeys } from '../core/keys.js';
import type { Metrics } from '../core/metrics.js';
import { createOrderValidator } from '../core/order.js';
import { connectRedis, createRedis, type RedisClient } from '../core/redis.js';
import { BatchCounter } from '../processor/batch-counter.js';
import { Processor, type ProcessorOptions } from '../processor/processor.js';
import { benchKeys, freshMetrics, quietLog, waitUntil } from './support.js';
import { z } from 'zod';

const WINDOW_MS = 10_000;

export function frame(lines: readonly string[], ingestedAt = Date.now()): string[] {
  const framer = new EnvelopeFramer('bench', '/bench/orders.jsonl', 'f.0');
  return lines.map((line, i) => framer.frame(i, ingestedAt, line));
}

/** The processor as the benchmark runs it: consumer `bench`, 10 s windows, no logs. */
export function benchProcessorOptions(redis: RedisClient, keys: RedisKeys, batchSize: number, metrics: Metrics): ProcessorOptions {
  return {
    redis,
    keys,
    consumer: 'bench',
    catalog: DEFAULT_CATALOG,
    windowMs: WINDOW_MS,
    graceMs: WINDOW_MS,
    retentionMs: 86_400_000,
    maxClockSkewMs: 300_000,
    batchSize,
    leaseMs: 10_000,
    tickMs: 1000,
    log: quietLog,
    metrics,
  };
}

export async function benchProcessor(
  url: string,
  envelopes: readonly string[],
  batchSize: number,
  metrics: Metrics = freshMetrics(),
): Promise<{ ordersPerSecond: number; seconds: number }> {
  const keys = benchKeys();
  const redis = createRedis(url, { name: 'bench-processor' });
  const probe = createRedis(url, { name: 'bench-probe' });
  await Promise.all([connectRedis(redis), connectRedis(probe)]);
  for (let i = 0; i < envelopes.length; i += 5000) await probe.rpush(keys.queue, ...envelopes.slice(i, i + 5000));
  const processor = new Processor(benchProcessorOptions(redis, keys, batchSize, metrics));
  const started = performance.now();
  void processor.start();
  await waitUntil(async () => (await probe.llen(keys.queue)) === 0 && (await probe.exists(keys.processing('bench'))) === 0, 120_000, 5);
  const seconds = (performance.now() - started) / 1000;
  await processor.close();
  const windows = await probe.zrange(keys.windows, '0', '-1');
  let counted = 0;
  for (const start of windows) counted += Number(await probe.hget(keys.window(Number(start)), 'orders'));
  if (counted !== envelopes.length) throw new Error(`processor benchmark counted ${counted} of ${envelopes.length}`);
  await probe.unlink(keys.queue, keys.windows, keys.open, keys.dirty, keys.changes, keys.consumers, ...windows.map((s) => keys.window(Number(s))));
  redis.disconnect();
  probe.disconnect();
  return { ordersPerSecond: envelopes.length / seconds, seconds };
}

/** The original design's spout and bolt: LPOP one order, HINCRBY each of its counts, one command at a time. */
export async function benchLpopPerOrder(url: string, envelopes: readonly string[]): Promise<{ ordersPerSecond: number }> {
  const keys = benchKeys();
  const redis = createRedis(url, { name: 'bench-lpop' });
  await connectRedis(redis);
  for (let i = 0; i < envelopes.length; i += 5000) await redis.rpush(keys.queue, ...envelopes.slice(i, i + 5000));
  const validate = createOrderValidator(DEFAULT_CATALOG);
  const started = performance.now();
  for (;;) {
    const raw = await redis.lpop(keys.queue);
    if (raw === null) break;
    const envelope = parseEnvelope(raw);
    if (!envelope) continue;
    const check = validate(envelope.line);
    if (!check.ok) continue;
    const key = keys.window(Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS);
    await redis.hincrby(key, 'orders', 1);
    await redis.hincrby(key, `age:${check.order.customerAgeGrade}`, 1);
    await redis.hincrby(key, `payment:${check.order.paymentMethod}`, 1);
  }
  const seconds = (performance.now() - started) / 1000;
  const leftovers = await redis.keys(`${keys.prefix}*`);
  if (leftovers.length > 0) await redis.unlink(...leftovers);
  redis.disconnect();
  return { ordersPerSecond: envelopes.length / seconds };
}

/** CPU cost of the processor's in-memory work, and of validating with the hand-written schema versus zod. */
export function benchParseAndCount(envelopes: readonly string[], lines: readonly string[]) {
  const counter = new BatchCounter({ catalog: DEFAULT_CATALOG, windowMs: WINDOW_MS, limits: { maxFutureMs: 300_000, maxPastMs: 86_400_000 } });
  const rate = (n: number, run: () => void) => {
    run(); // warm up
    const started = performance.now();
    run();
    return n / ((performance.now() - started) / 1000);
  };
  // As claimed from Redis: bytes, decoded by the counter.
  const claimed = envelopes.map((e) => Buffer.from(e));
  const parseAndCount = rate(claimed.length, () => {
    for (let i = 0; i < claimed.length; i += 1000) counter.count(claimed.slice(i, i + 1000), Date.now());
  });
  const validate = createOrderValidator(DEFAULT_CATALOG);
  const handWritten = rate(lines.length, () => {
    for (const line of lines) validate(line);
  });
  const zodSchema = z.object({
    customerAgeGrade: z.enum(DEFAULT_CATALOG.ageGrades as [string, ...string[]]),
    paymentMethod: z.enum(DEFAULT_CATALOG.paymentMethods as [string, ...string[]]),
    orders: z.array(z.enum(DEFAULT_CATALOG.coffeeTypes as [string, ...string[]])).min(1).max(100),
    orderedAt: z.union([z.string(), z.number()]).optional(),
  });
  const withZod = rate(lines.length, () => {
    for (const line of lines) zodSchema.safeParse(JSON.parse(line));
  });
  return { parseAndCountPerSecond: parseAndCount, validateHandWrittenPerSecond: handWritten, validateZodPerSecond: withZod };
}
