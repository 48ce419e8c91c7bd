/** Reads what reached the queue, for exactly-once assertions. */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { type Envelope, parseEnvelope } from '../../core/envelope.js';

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
