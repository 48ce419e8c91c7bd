import { describe, expect, it } from 'vitest';
import { BatchCounter } from '../../processor/batch-counter.js';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { type DeadLetterEntry, decodeDeadLetter } from '../../core/dead-letter.js';
import { EnvelopeFramer } from '../../core/envelope.js';

const W = 10_000;
const counter = new BatchCounter({ catalog: DEFAULT_CATALOG, windowMs: W, limits: { maxFutureMs: 60_000, maxPastMs: 86_400_000 } });
const framer = new EnvelopeFramer('h', '/orders.log', 'f.0');
/** Envelopes as a claim returns them: bytes. */
const bytes = (...envelopes: string[]) => envelopes.map((e) => Buffer.from(e));
const T = 1_795_304_350_000;
/** The dead letters of a batch as the store would read them back. */
const decoded = (dead: readonly DeadLetterEntry[]) => dead.map((d, i) => decodeDeadLetter(i + 1, d.record)!);

describe('BatchCounter', () => {
  it('counts orders per event-time window: age and payment per order, coffee per drink', () => {
    const counts = counter.count(
      bytes(
        framer.frame(0, T + 1000, '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Americano","Espresso","Americano"]}'),
        framer.frame(1, T + 2000, '{"customerAgeGrade":"1020","paymentMethod":"Debit","orders":["Espresso"]}'),
        framer.frame(2, T + 3000, `{"customerAgeGrade":"9999","paymentMethod":"Cash","orders":["Cappuccino"],"orderedAt":${T - 5000}}`),
      ),
      T + 5000,
    );
    expect(counts.counted).toBe(3);
    expect(counts.dead).toEqual([]);
    expect(counts.oldestIngestedAt).toBe(T + 1000);
    expect(Object.fromEntries(counts.windows.get(T)!.fields)).toEqual({
      orders: 2,
      drinks: 4,
      'age:1020': 2,
      'payment:Cash': 1,
      'payment:Debit': 1,
      'coffee:Americano': 2,
      'coffee:Espresso': 2,
    });
    expect(Object.fromEntries(counts.windows.get(T - W)!.fields)).toEqual({
      orders: 1,
      drinks: 1,
      'age:9999': 1,
      'payment:Cash': 1,
      'coffee:Cappuccino': 1,
    });
  });

  it('counts at ingestion time when orderedAt is too far in the future', () => {
    const counts = counter.count(bytes(framer.frame(0, T, `{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":${T + 3_600_000}}`)), T);
    expect(counts.clockSkewed).toBe(1);
    expect([...counts.windows.keys()]).toEqual([T]);
  });

  it('turns bad lines and bad envelopes into dead letters with reasons', () => {
    const claimed = bytes(framer.frame(7, T, '{"broken'), framer.oversizeHeader(9, T, 2_097_152) + 'xxxx', 'garbage in the queue', framer.frame(12, T, 'z'.repeat(5000)));
    const counts = counter.count(claimed, T + 1);
    expect(counts.counted).toBe(0);
    expect(counts.dead.map((d) => [d.reason, d.at])).toEqual(['invalid_json', 'line_too_long', 'invalid_envelope', 'invalid_json'].map((r) => [r, T + 1]));
    const dead = decoded(counts.dead);
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json', 'line_too_long', 'invalid_envelope', 'invalid_json']);
    expect(dead[0]).toMatchObject({ envelopeHeader: { id: 'f.0:7', source: '/orders.log', host: 'h', ingestedAt: T }, line: Buffer.from('{"broken'), truncated: false, at: T + 1, replays: 0 });
    expect(dead[0]!.element).toEqual(claimed[0]);
    expect(dead[1]).toMatchObject({ envelopeHeader: { id: 'f.0:9', oversize: 2_097_152 }, line: Buffer.from('xxxx'), truncated: true, bytes: 2_097_152 });
    expect(dead[1]!.message).toMatch(/2097152 bytes/);
    expect(dead[2]).toMatchObject({ envelope: false, line: Buffer.from('garbage in the queue'), truncated: false });
    expect(dead[2]!.envelopeHeader).toBeUndefined();
    expect(dead[3]!.line).toEqual(Buffer.from('z'.repeat(4096)));
    expect(dead[3]).toMatchObject({ truncated: true, bytes: 5000 });
    expect(Object.fromEntries(counts.deadByReason)).toEqual({ invalid_json: 2, line_too_long: 1, invalid_envelope: 1 });
  });

  it('dead-letters envelopes whose ingestion time is not a time, ahead of the clock or past the retention', () => {
    const line = '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"]}';
    const header = (ingestedAt: string) => `{"v":2,"host":"h","source":"/orders.log","id":"f.0:${ingestedAt}","ingestedAt":${ingestedAt}}\n${line}`;
    const absurd = ['1e300', '-1', '1.5', '9007199254740993', String(T + 3_600_000), String(T - 2 * 86_400_000)];
    const counts = counter.count(bytes(...absurd.map(header), framer.frame(0, T, line)), T);
    expect(counts.counted).toBe(1);
    expect([...counts.windows.keys()]).toEqual([T]);
    const dead = decoded(counts.dead);
    expect(dead.map((d) => d.reason)).toEqual(absurd.map(() => 'invalid_envelope'));
    expect(dead.map((d) => d.line.toString())).toEqual(absurd.map(() => line));
    expect(dead[0]!.message).toMatch(/not a time/);
    expect(dead[4]!.message).toMatch(/ahead of this processor's clock/);
    expect(dead[5]!.message).toMatch(/older than the retention/);
  });

  it('keeps the bytes of a bad line as claimed, not their UTF-8 decoding, and the replay count of a replayed envelope', () => {
    const binary = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0xe2, 0x82]);
    const replayed = `{"v":2,"host":"h","source":"/orders.log","id":"f.0:3","ingestedAt":${T},"replays":2}\n{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Tea"]}`;
    const claimed = [Buffer.concat([Buffer.from(framer.header(0, T)), binary]), Buffer.from(replayed)];
    const dead = decoded(counter.count(claimed, T).dead);
    expect(dead[0]!.line).toEqual(binary);
    expect(dead[0]!.element).toEqual(claimed[0]);
    expect(dead[1]).toMatchObject({ reason: 'unknown_value', replays: 2, element: claimed[1] });
  });

  it('leaves replayed envelopes out of the latency: their ingestion time is old on purpose', () => {
    const line = '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"]}';
    const replayed = `{"v":2,"host":"h","source":"/orders.log","id":"f.0:3","ingestedAt":${T - 60_000},"replays":1}\n${line}`;
    const counts = counter.count(bytes(replayed, framer.frame(9, T, line)), T + 10);
    expect(counts.counted).toBe(2);
    expect(counts.oldestIngestedAt).toBe(T);
    expect(counter.count(bytes(replayed), T).oldestIngestedAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps the claimed envelopes, byte for byte, for the commit to check', () => {
    const claimed = bytes(framer.frame(0, T, 'x'), 'y');
    expect(counter.count(claimed, T).envelopes).toBe(claimed);
  });
});
