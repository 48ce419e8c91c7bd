/** Reads what reached the queue, for exactly-once assertions, and waits for a collector to catch up. */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { type Envelope, parseEnvelope } from '../../core/envelope.js';
import { eventually } from './eventually.js';

export async function queuedEnvelopes(client: Redis, queue: string): Promise<Envelope[]> {
  const raw = await client.lrange(queue, 0, -1);
  return raw.map((r) => {
    const e = parseEnvelope(r);
    if (!e) throw new Error(`not an envelope in the queue: ${r.slice(0, 200)}`);
    return e;
  });
}

/** Numbers `n` of the `{"n":…}` lines in the queue. */
export function lineNumbers(envelopes: readonly Envelope[]): number[] {
  return envelopes.map((e) => (JSON.parse(e.line) as { n: number }).n);
}

/** Every number 0…count-1 exactly once, and no id twice. */
export function expectExactlyOnce(envelopes: readonly Envelope[], count: number): void {
  const ids = new Set(envelopes.map((e) => e.id));
  expect(ids.size, 'duplicate envelope ids').toBe(envelopes.length);
  const numbers = lineNumbers(envelopes).sort((a, b) => a - b);
  const missing = count - new Set(numbers).size;
  expect({ lines: numbers.length, missing }).toEqual({ lines: count, missing: 0 });
  expect(numbers).toEqual(Array.from({ length: count }, (_, i) => i));
}

/**
 * Waits until `collector` has checked its paths twice more (a rotated or truncated file would be
 * seen), has pushed, and Redis acknowledged, everything but `bytesBehind` bytes (a partial last
 * line), and has nothing in flight: whatever it will ever push of what it can see is in the queue.
 */
export async function collectorCaughtUp(collector: Collector, options: { timeoutMs?: number; bytesBehind?: number } = {}): Promise<void> {
  const want = options.bytesBehind ?? 0;
  const { checks } = await collector.backlog();
  let last = { bytesBehind: -1, pushesInFlight: -1, checks };
  await eventually(
    async () => {
      last = await collector.backlog();
      return last.checks >= checks + 2 && last.bytesBehind === want && last.pushesInFlight === 0;
    },
    { timeoutMs: options.timeoutMs ?? 15_000, message: () => `the collector did not catch up: ${JSON.stringify(last)}` },
  );
}

/**
 * Waits until the queue holds `n` envelopes and the collector has caught up, so that a duplicate
 * would be in the queue by then; then checks that lines 0…n-1 are each there exactly once.
 */
export async function expectCollectedExactly(client: Redis, queue: string, collector: Collector, n: number, options: { timeoutMs?: number } = {}): Promise<void> {
  await eventually(async () => (await client.llen(queue)) >= n, {
    timeoutMs: options.timeoutMs,
    message: async () => `queue did not reach ${n} (has ${await client.llen(queue)})`,
  });
  await collectorCaughtUp(collector, options);
  expectExactlyOnce(await queuedEnvelopes(client, queue), n);
}
