/** The processor against a real Redis: exact window counts, dead letters, late orders, recovery. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { EnvelopeFramer } from '../../core/envelope.js';
import { windowStart } from '../../core/windows.js';
import type { WindowSnapshot } from '../../core/window-snapshot.js';
import type { Processor } from '../../processor/processor.js';
import { eventually } from '../support/eventually.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { testProcessor } from '../support/stages.js';

const W = 10_000;
let t: TestRedis;
const running: Processor[] = [];

beforeEach(() => {
  t = testRedis();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.close()));
  await t.cleanup();
});

function start(overrides: Parameters<typeof testProcessor>[1] = {}): Processor {
  const processor = testProcessor(t, overrides);
  running.push(processor);
  void processor.start();
  return processor;
}

/** Frames lines as the collector would and queues them. */
async function enqueue(lines: readonly string[], ingestedAt = Date.now(), firstOffset = 0): Promise<void> {
  const framer = new EnvelopeFramer('test-host', '/orders.log', 'f.0');
  for (let i = 0; i < lines.length; i += 1000) {
    const chunk = lines.slice(i, i + 1000).map((line, j) => framer.frame(firstOffset + i + j, ingestedAt, line));
    await t.client.rpush(t.keys.queue, ...chunk);
  }
}

async function drained(): Promise<void> {
  await eventually(async () => (await t.client.llen(t.keys.queue)) === 0, { message: 'queue not drained' });
  await eventually(async () => (await t.client.keys(`${t.prefix}processing:*`)).length === 0, { message: 'batch not committed' });
}

async function expectWindowsToMatch(lines: readonly string[]): Promise<void> {
  const expected = expectedWindows(lines, W);
  const starts = (await t.client.zrange(t.keys.windows, '0', '-1')).map(Number);
  expect(starts.sort()).toEqual([...expected.keys()].sort());
  for (const [start, window] of expected) {
    expect(countsOnly(await t.client.hgetall(t.keys.window(start))), `window ${start}`).toEqual(expectedHash(window));
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
    expect(await t.client.llen(t.keys.dead)).toBe(0);
  });

  it('two processors draining one queue count each order once', async () => {
    const lines = orderLines(30_000, { seed: 2, firstStart: windowStart(Date.now(), W) - 3 * W, windows: 4, windowMs: W });
    await enqueue(lines);
    start({ batchSize: 250 });
    start({ batchSize: 400 });
    await drained();
    await expectWindowsToMatch(lines);
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
    await t.client.rpush(t.keys.queue, 'not an envelope');
    start();
    await drained();
    await expectWindowsToMatch(good);
    const dead = (await t.client.lrange(t.keys.dead, 0, -1)).map((d) => JSON.parse(d));
    expect(dead.map((d) => d.reason)).toEqual(['invalid_json', 'wrong_type', 'unknown_value', 'empty_orders', 'invalid_json', 'empty_line', 'invalid_envelope']);
    expect(dead[0]).toMatchObject({ id: 'f.0:50', source: '/orders.log', line: bad[0] });
    for (const d of dead) expect(d.message).toEqual(expect.any(String));
  });

  it('publishes changed windows, closes them, and re-publishes a closed window revised by a late order', async () => {
    const subscriber: Redis = t.connect('subscriber');
    const messages: WindowSnapshot[] = [];
    await new Promise<void>((resolve) => subscriber.once('ready', resolve));
    await subscriber.subscribe(t.keys.statsChannel);
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
    expect(await t.client.hgetall(t.keys.window(start0))).toMatchObject({ orders: '13', late: '3', final: '1' });
    const kinds = (await t.client.xrange(t.keys.changes, '-', '+')).map(([, f]) => f[3]);
    expect(kinds).toEqual(['final', 'revised']);
  });

  it('recovers the batch of a processor that died holding it, once its lease expires', async () => {
    const lines = orderLines(500, { seed: 6, firstStart: windowStart(Date.now(), W), windows: 1, windowMs: W });
    await enqueue(lines);
    // A processor claims 200 envelopes and dies before committing.
    const dead = await t.connected('dead-processor');
    await dead.acquireLease(t.keys.lease('dead'), t.keys.consumers, t.keys.processing('dead'), 'tok', 1500, 'dead');
    const [, claimed] = await dead.claimBatch(t.keys.queue, t.keys.processing('dead'), t.keys.lease('dead'), 'tok', 200, 1500, 'next');
    expect(claimed).toHaveLength(200);
    start({ leaseMs: 2000 });
    await eventually(async () => (await t.client.exists(t.keys.processing('dead'))) === 0, { timeoutMs: 10_000, message: 'dead batch not recovered' });
    await drained();
    await expectWindowsToMatch(lines);
    expect(await t.client.smembers(t.keys.consumers)).not.toContain('dead');
  });

  it('takes its own unfinished batch back at once when restarted under the same name', async () => {
    const lines = orderLines(300, { seed: 7, firstStart: windowStart(Date.now(), W), windows: 1, windowMs: W });
    await enqueue(lines);
    const crashed = await t.connected('crashed');
    await crashed.acquireLease(t.keys.lease('p1'), t.keys.consumers, t.keys.processing('p1'), 'old', 60_000, 'p1');
    await crashed.claimBatch(t.keys.queue, t.keys.processing('p1'), t.keys.lease('p1'), 'old', 120, 60_000, 'next');
    await crashed.claimBatch(t.keys.queue, t.keys.processing('p1'), t.keys.lease('p1'), 'old', 60, 60_000, 'next');
    start({ consumer: 'p1', leaseMs: 60_000 });
    await drained();
    await expectWindowsToMatch(lines);
    // The old holder's token no longer commits anything.
    const [code] = await crashed.claimBatch(t.keys.queue, t.keys.processing('p1'), t.keys.lease('p1'), 'old', 1, 60_000, 'next');
    expect(code).toBe(-2);
  });

  it('releases its lease on close', async () => {
    const processor = start({ consumer: 'p2' });
    await eventually(async () => (await t.client.exists(t.keys.lease('p2'))) === 1, { message: 'no lease taken' });
    await processor.close();
    expect(await t.client.exists(t.keys.lease('p2'))).toBe(0);
    expect(await t.client.smembers(t.keys.consumers)).toEqual([]);
  });
});
