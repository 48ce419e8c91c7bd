/** The processor against a real Redis: exact window counts, dead letters, late orders, recovery. */
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { EnvelopeFramer } from '../../core/envelope.js';
import { LeaseLostError } from '../../core/errors.js';
import { createMetrics } from '../../core/metrics.js';
import { Scripts } from '../../core/scripts.js';
import { windowStart } from '../../core/windows.js';
import type { WindowSnapshot } from '../../core/window-snapshot.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { metricValue } from '../support/metrics.js';
import { storedDeadLetters } from '../support/dead-letters.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';

const W = 10_000;
const env = useTestEnvironment();
const start: typeof env.startProcessor = (overrides) => env.startProcessor(overrides);

/** Frames lines as the collector would and queues them. */
async function enqueue(lines: readonly string[], ingestedAt = Date.now(), firstOffset = 0): Promise<void> {
  const framer = new EnvelopeFramer('test-host', '/orders.log', 'f.0');
  for (let i = 0; i < lines.length; i += 1000) {
    const chunk = lines.slice(i, i + 1000).map((line, j) => framer.frame(firstOffset + i + j, ingestedAt, line));
    await env.redis.client.rpush(env.redis.keys.queue, ...chunk);
  }
}

async function drained(): Promise<void> {
  await eventually(async () => (await env.redis.client.llen(env.redis.keys.queue)) === 0, { message: 'queue not drained' });
  await eventually(async () => (await env.redis.client.keys(`${env.redis.prefix}processing:*`)).length === 0, { message: 'batch not committed' });
}

async function expectWindowsToMatch(lines: readonly string[]): Promise<void> {
  const expected = expectedWindows(lines, W);
  const starts = (await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')).map(Number);
  expect(starts.sort()).toEqual([...expected.keys()].sort());
  for (const [start, window] of expected) {
    expect(countsOnly(await env.redis.client.hgetall(env.redis.keys.window(start))), `window ${start}`).toEqual(expectedHash(window));
  }
}

describe('processor', () => {
  it('counts every order exactly once into its event-time window', async () => {
    const now = Date.now();
    const lines = orderLines(12_345, { seed: 1, firstStart: windowStart(now, W) - 5 * W, windows: 6, windowMs: W });
    await enqueue(lines);
    start();
    await drained();
    await expectWindowsToMatch(lines);
    expect(await env.redis.client.zcard(env.redis.keys.deadIndex)).toBe(0);
  });

  it('two processors draining one queue count each order once, and both do work', async () => {
    const lines = orderLines(30_000, { seed: 2, firstStart: windowStart(Date.now(), W) - 3 * W, windows: 4, windowMs: W });
    // Both run before the queue fills, so neither can drain it alone before the other starts.
    const metrics = [createMetrics('test-host'), createMetrics('test-host')];
    start({ batchSize: 250, metrics: metrics[0] });
    start({ batchSize: 400, metrics: metrics[1] });
    await eventually(async () => (await env.redis.client.scard(env.redis.keys.consumers)) === 2, { message: 'both processors did not take a lease' });
    await enqueue(lines);
    await drained();
    await expectWindowsToMatch(lines);
    const counted = await Promise.all(metrics.map((m) => metricValue(m, 'coffee_processor_orders_total', { result: 'counted' })));
    expect(counted[0]! + counted[1]!).toBe(lines.length);
    expect(Math.min(...counted), `orders counted by each processor: ${counted}`).toBeGreaterThan(0);
  });

  it('dead-letters each bad line with a reason and keeps counting the good ones', async () => {
    const good = orderLines(100, { seed: 3, firstStart: windowStart(Date.now(), W), windows: 1, windowMs: W });
    const bad = [
      '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"', // truncated JSON
      '{"customerAgeGrade":1020,"paymentMethod":"Cash","orders":["Espresso"]}', // wrong type
      '{"customerAgeGrade":"1020","paymentMethod":"Gold","orders":["Espresso"]}', // unknown value
      '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":[]}', // empty orders
      '\u0000\u00ff\ufffdPNG\r\n\u001a', // binary garbage
      '',
    ];
    const mixed = [...good.slice(0, 50), ...bad, ...good.slice(50)];
    await enqueue(mixed);
    await env.redis.client.rpush(env.redis.keys.queue, 'not an envelope');
    start();
    await drained();
    await expectWindowsToMatch(good);
    const dead = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json', 'wrong_type', 'unknown_value', 'empty_orders', 'invalid_json', 'empty_line', 'invalid_envelope']);
    expect(dead[0]).toMatchObject({ envelopeHeader: { id: 'f.0:50', source: '/orders.log', host: 'test-host' }, replays: 0, truncated: false });
    expect(dead.slice(0, 6).map((d) => d.line.toString())).toEqual(bad);
    expect(dead[6]).toMatchObject({ envelope: false, line: Buffer.from('not an envelope') });
    for (const d of dead) expect(d.message).toEqual(expect.any(String));
  });

  it('dead-letters hostile queue elements once each, counts the good orders exactly, and never retries a batch', async () => {
    const now = Date.now();
    const good = orderLines(2_000, { seed: 8, firstStart: windowStart(now, W) - 2 * W, windows: 3, windowMs: W });
    const line = '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"]}';
    const header = (fields: string) => `{"v":2,"host":"h","source":"/orders.log","id":"x:${Math.random()}"${fields}}\n${line}`;
    /** Queue elements nobody should be able to count, each with the reason it must be dead-lettered with. */
    const hostile: [string, string | Buffer][] = [
      ['invalid_envelope', header(',"ingestedAt":1e300')],
      ['invalid_envelope', header(',"ingestedAt":100000000000000000000')],
      ['invalid_envelope', header(',"ingestedAt":-1')],
      ['invalid_envelope', header(',"ingestedAt":0')],
      ['invalid_envelope', header(',"ingestedAt":1.5')],
      ['invalid_envelope', header(`,"ingestedAt":${now + 10 * 365 * 86_400_000}`)],
      ['invalid_envelope', header(`,"ingestedAt":${now - 30 * 86_400_000}`)],
      ['invalid_envelope', header(',"ingestedAt":"1795304356789"')],
      ['invalid_envelope', header(',"ingestedAt":null')],
      ['invalid_envelope', header('')],
      ['invalid_envelope', `{"v":3,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n${line}`],
      ['invalid_envelope', `{"v":2,"host":["h"],"source":"s","id":"i","ingestedAt":${now}}\n${line}`],
      ['invalid_envelope', `{"v":2,"host":"h","source":"s","id":7,"ingestedAt":${now}}\n${line}`],
      ['invalid_envelope', `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now},"oversize":"big"}\n${line}`],
      ['invalid_envelope', `[2,"h"]\n${line}`],
      ['invalid_envelope', `null\n${line}`],
      ['invalid_envelope', line],
      ['invalid_envelope', ''],
      ['invalid_envelope', Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3, 0x28])],
      ['invalid_envelope', 'x'.repeat(2 * 1024 * 1024)],
      ['invalid_json', `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n\u0000\u00ff`],
      ['unknown_value', `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n{"customerAgeGrade":"__proto__","paymentMethod":"Cash","orders":["Espresso"]}`],
      ['unknown_value', `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n{"customerAgeGrade":"1020","paymentMethod":"constructor","orders":["toString"]}`],
      ...['1e300', '-5', '"2026-11-22T10:00:00"', '{}'].map((orderedAt): [string, string] => [
        'invalid_ordered_at',
        `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":${orderedAt}}`,
      ]),
    ];
    // Order times far from their ingestion are not believed: the order is counted at its ingestion time.
    const skewed = [`${now + 86_400_000}`, `${now - 30 * 86_400_000}`, '"1970-01-01T00:00:01Z"'].map(
      (orderedAt) => `{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${now}}\n{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":${orderedAt}}`,
    );
    await enqueue(good.slice(0, 1000));
    for (const [, element] of hostile) await env.redis.client.rpush(env.redis.keys.queue, element);
    await env.redis.client.rpush(env.redis.keys.queue, ...skewed);
    await enqueue(good.slice(1000), Date.now(), 1000);

    const metrics = createMetrics('test-host');
    start({ batchSize: 7, metrics });
    await drained();
    const nowWindow = windowStart(now, W);
    const expected = expectedWindows([...good], W);
    const atNow = expected.get(nowWindow);
    // The skewed orders land in the window of their ingestion.
    const starts = (await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')).map(Number).sort();
    expect(starts).toEqual([...new Set([...expected.keys(), nowWindow])].sort());
    const counted = starts.reduce(async (sum, s) => (await sum) + Number(await env.redis.client.hget(env.redis.keys.window(s), 'orders')), Promise.resolve(0));
    expect(await counted).toBe(good.length + skewed.length);
    for (const [s, window] of expected) {
      if (s !== nowWindow) expect(countsOnly(await env.redis.client.hgetall(env.redis.keys.window(s))), `window ${s}`).toEqual(expectedHash(window));
    }
    expect(Number(await env.redis.client.hget(env.redis.keys.window(nowWindow), 'orders'))).toBe((atNow?.orders ?? 0) + skewed.length);

    const dead = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(dead.map((d) => d.reason)).toEqual(hostile.map(([reason]) => reason));
    // Each kept as claimed, byte for byte, up to the 4 KiB a dead letter keeps.
    hostile.forEach(([, element], i) => {
      const bytes = Buffer.isBuffer(element) ? element : Buffer.from(element);
      expect(dead[i]!.element.equals(bytes.length > 4096 && !dead[i]!.envelope ? bytes.subarray(0, 4096) : bytes), `dead letter ${i}`).toBe(true);
    });
    // Every commit went through the first time: no failure, no retry, no lost lease.
    const errors = await metrics.registry.getSingleMetric('coffee_errors_total')?.get();
    expect(errors?.values.filter((v) => v.value > 0) ?? []).toEqual([]);
    expect(await env.redis.client.keys(`${env.redis.prefix}window:*e*`)).toEqual([]);
    expect(await env.redis.client.keys(`${env.redis.prefix}window:-*`)).toEqual([]);
  });

  it('keeps the exact bytes of every bad line, binary ones too, and of its envelope', async () => {
    const framer = new EnvelopeFramer('test-host', '/orders.log', 'f.0');
    const now = Date.now();
    const lines = [
      Buffer.from([0x00, 0xff, 0xfe, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x1a, 0x00, 0xc3, 0x28, 0x7b]),
      // An encoded UTF-16 surrogate: not UTF-8, but valid JSON once decoded (to U+FFFD); the letter keeps the bytes.
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
      Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Thé ☕"]}'),
      Buffer.from(`{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"pad":"${'é'.repeat(3000)}"`),
    ];
    const envelopes = lines.map((line, i) => Buffer.concat([Buffer.from(framer.header(i * 100, now)), line]));
    await env.redis.client.rpush(env.redis.keys.queue, ...envelopes);
    start();
    await drained();
    const dead = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json', 'missing_field', 'unknown_value', 'invalid_json']);
    for (let i = 0; i < 3; i++) {
      expect(dead[i]!.line.equals(lines[i]!), `line ${i}`).toBe(true);
      expect(dead[i]!.element.equals(envelopes[i]!), `envelope ${i}`).toBe(true);
      expect(dead[i]).toMatchObject({ truncated: false, bytes: lines[i]!.length, envelope: true });
    }
    // A line longer than 4 KiB keeps its first 4,096 bytes, cut inside a character if need be.
    expect(dead[3]!.line.equals(lines[3]!.subarray(0, 4096))).toBe(true);
    expect(dead[3]).toMatchObject({ truncated: true, bytes: lines[3]!.length });
  });

  it('keeps at most deadLetterMax dead letters: drops the oldest, counts them and logs it once', async () => {
    const logged: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const metrics = createMetrics('test-host');
    const bad = Array.from({ length: 12 }, (_, i) => `{"bad":${i}`);
    await enqueue(bad);
    start({ deadLetterMax: 5, batchSize: 3, metrics, log });
    await drained();
    const dead = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(dead.map((d) => d.line.toString())).toEqual(bad.slice(7));
    expect(dead.map((d) => d.id)).toEqual([8, 9, 10, 11, 12]);
    expect(await env.redis.client.zcard(env.redis.keys.deadIndex)).toBe(5);
    expect(await env.redis.client.hget(env.redis.keys.deadCounters, 'trimmed')).toBe('7');
    expect(await metricValue(metrics, 'coffee_processor_dead_letters_trimmed_total')).toBe(7);
    expect(logged.filter((l) => String(l.msg).startsWith('the dead-letter store is full'))).toHaveLength(1);
  });

  it('publishes changed windows, closes them, and re-publishes a closed window revised by a late order', async () => {
    const subscriber: Redis = env.redis.connect('subscriber');
    const messages: WindowSnapshot[] = [];
    await new Promise<void>((resolve) => subscriber.once('ready', resolve));
    await subscriber.subscribe(env.redis.keys.statsChannel);
    subscriber.on('message', (_channel, message: string) => messages.push(JSON.parse(message)));

    const now = Date.now();
    const start0 = windowStart(now, W) - 3 * W; // already due to close
    const lines = orderLines(10, { seed: 4, firstStart: start0, windows: 1, windowMs: W });
    await enqueue(lines);
    start({ graceMs: 0 });
    await eventually(() => messages.some((m) => m.start === start0 && m.final), { message: 'no final snapshot published' });
    const closed = messages.find((m) => m.start === start0 && m.final)!;
    expect(closed).toMatchObject({ start: start0, end: start0 + W, orders: 10, late: 0 });
    expect(Object.values(closed.payment).reduce((a, b) => a + b, 0)).toBe(10);

    await enqueue(orderLines(3, { seed: 5, firstStart: start0, windows: 1, windowMs: W }), now, 100);
    await eventually(() => messages.some((m) => m.start === start0 && m.late === 3), { message: 'revision not published' });
    expect(await env.redis.client.hgetall(env.redis.keys.window(start0))).toMatchObject({ orders: '13', late: '3', final: '1' });
    const kinds = (await env.redis.client.xrange(env.redis.keys.changes, '-', '+')).map(([, f]) => f[3]);
    expect(kinds).toEqual(['final', 'revised']);
  });

  it('recovers the batch of a processor that died holding it, once its lease expires', async () => {
    const lines = orderLines(500, { seed: 6, firstStart: windowStart(Date.now(), W), windows: 1, windowMs: W });
    await enqueue(lines);
    // A processor claims 200 envelopes and dies before committing.
    const dead = new Scripts(await env.redis.connected('dead-processor'), env.redis.keys);
    const hold = { consumer: 'dead', token: 'tok', leaseMs: 1500 };
    await dead.acquireLease(hold);
    expect(await dead.claimBatch(hold, 'next', 200)).toHaveLength(200);
    start({ leaseMs: 2000 });
    await eventually(async () => (await env.redis.client.exists(env.redis.keys.processing('dead'))) === 0, { timeoutMs: 10_000, message: 'dead batch not recovered' });
    await drained();
    await expectWindowsToMatch(lines);
    expect(await env.redis.client.smembers(env.redis.keys.consumers)).not.toContain('dead');
  });

  it('takes its own unfinished batch back at once when restarted under the same name', async () => {
    const lines = orderLines(300, { seed: 7, firstStart: windowStart(Date.now(), W), windows: 1, windowMs: W });
    await enqueue(lines);
    const crashed = new Scripts(await env.redis.connected('crashed'), env.redis.keys);
    const old = { consumer: 'p1', token: 'old', leaseMs: 60_000 };
    await crashed.acquireLease(old);
    await crashed.claimBatch(old, 'next', 120);
    await crashed.claimBatch(old, 'next', 60);
    start({ consumer: 'p1', leaseMs: 60_000 });
    await drained();
    await expectWindowsToMatch(lines);
    // The old holder's token no longer claims anything.
    await expect(crashed.claimBatch(old, 'next', 1)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('releases its lease on close', async () => {
    const processor = start({ consumer: 'p2' });
    await eventually(async () => (await env.redis.client.exists(env.redis.keys.lease('p2'))) === 1, { message: 'no lease taken' });
    await processor.close();
    expect(await env.redis.client.exists(env.redis.keys.lease('p2'))).toBe(0);
    expect(await env.redis.client.smembers(env.redis.keys.consumers)).toEqual([]);
  });
});
