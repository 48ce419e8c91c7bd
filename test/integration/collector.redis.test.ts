/** The collector against real files and a real Redis: tail -F semantics and exactly-once pushes. */
import { copyFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { parseEnvelope } from '../../core/envelope.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, rotate, tempDir } from '../support/files.js';
import { expectExactlyOnce, lineNumbers, queuedEnvelopes } from '../support/queue.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { testCollector } from '../support/stages.js';

let t: TestRedis;
let dir: ReturnType<typeof tempDir>;
const running: Collector[] = [];

beforeEach(() => {
  t = testRedis();
  dir = tempDir();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.close()));
  await t.cleanup();
  dir.remove();
});

function start(files: string[], overrides: Parameters<typeof testCollector>[2] = {}): Collector {
  const collector = testCollector(t, files, overrides);
  running.push(collector);
  void collector.start();
  return collector;
}

async function stop(collector: Collector): Promise<void> {
  await collector.close();
  running.splice(running.indexOf(collector), 1);
}

const queueLength = () => t.client.llen(t.keys.queue);
async function waitForQueue(n: number, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => (await queueLength()) >= n, {
    timeoutMs,
    message: async () => `queue did not reach ${n} (has ${await queueLength()}) ${JSON.stringify(running.map((c) => [(c as any).failure, (c as any).followers[0].tails().map((x: any) => [x.path, x.splitter.readOffset])]))}`,
  });
}

/**
 * Waits until the queue holds `n` envelopes, gives a duplicate a moment to show up (an absence
 * cannot be polled for), then checks that lines 0…n-1 are each there exactly once.
 */
async function expectQueueToHoldExactly(n: number, timeoutMs?: number): Promise<void> {
  await waitForQueue(n, timeoutMs);
  await new Promise((r) => setTimeout(r, 300));
  expectExactlyOnce(await queuedEnvelopes(t.client, t.keys.queue), n);
}

describe('collector', () => {
  it('frames whole lines into envelopes; a partial last line waits for its newline', async () => {
    const file = dir.file('orders.log');
    writeFileSync(file, '{"n":0}\n{"n":1}\r\n{"n":');
    start([file]);
    await waitForQueue(2);
    const [first, second] = await queuedEnvelopes(t.client, t.keys.queue);
    expect(first).toMatchObject({ v: 2, host: 'test-host', source: file, line: '{"n":0}' });
    expect(first!.id).toMatch(/^[0-9a-f]{16}\.0:0$/);
    expect(second).toMatchObject({ line: '{"n":1}', id: first!.id.replace(/:0$/, ':8') });
    expect(Date.now() - first!.ingestedAt).toBeLessThan(60_000);
    // The partial line is not pushed until it is whole.
    await new Promise((r) => setTimeout(r, 300));
    expect(await queueLength()).toBe(2);
    new LineWriter(file).write('2}\n');
    await waitForQueue(3);
    expect(lineNumbers(await queuedEnvelopes(t.client, t.keys.queue))).toEqual([0, 1, 2]);
  });

  it('resumes after a restart from the position stored in Redis', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    writer.lines(5000);
    const first = start([file], { batchLines: 100 });
    await waitForQueue(5000);
    await stop(first);
    writer.lines(3000);
    start([file]);
    await expectQueueToHoldExactly(8000);
  });

  it('starts at the end of a file it has never read when asked to', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    writer.lines(100);
    start([file], { from: 'end' });
    await eventually(async () => (await t.client.hlen(t.keys.offsets)) === 1, { message: 'no position stored' });
    writer.lines(10);
    await waitForQueue(10);
    expect(lineNumbers(await queuedEnvelopes(t.client, t.keys.queue))).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });

  it('loses nothing through rename rotation while the writer keeps appending', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    start([file], { batchLines: 50 });
    await eventually(async () => (await t.client.hlen(t.keys.offsets)) === 1, { message: 'file not followed' });
    const total = 12_000;
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) writer.lines(250);
      // logrotate: rename, the writer still appends to the old file for a while, then reopens the path.
      rotate(file);
      writer.lines(250);
      await new Promise((r) => setTimeout(r, 20));
      writer.lines(250);
      writer.reopen();
    }
    expect(writer.written).toBe(total);
    await expectQueueToHoldExactly(total, 30_000);
  });

  it('reads files rotated away faster than it checks the path', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    start([file]);
    await eventually(async () => (await t.client.hlen(t.keys.offsets)) === 1, { message: 'file not followed' });
    // Three rotations with no pause: the middle files exist at the path only for an instant.
    for (let round = 3; round >= 1; round--) {
      writer.lines(1000);
      rotate(file);
      writer.reopen();
    }
    writer.lines(1000);
    await expectQueueToHoldExactly(4000);
  });

  it('after a restart, finishes a rotated file it had not drained', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    writer.lines(1000);
    const first = start([file]);
    await waitForQueue(1000);
    await stop(first);
    // While the collector is down: rotation, with late writes to the old file, then new lines.
    renameSync(file, dir.file('orders.log.1'));
    writer.lines(500);
    writer.reopen();
    writer.lines(700);
    start([file]);
    await expectQueueToHoldExactly(2200);
  });

  it('follows a file deleted and created again at the same path', async () => {
    const file = dir.file('orders.log');
    let writer = new LineWriter(file);
    writer.lines(300);
    start([file]);
    await waitForQueue(300);
    writer.close();
    rmSync(file);
    writer = Object.assign(new LineWriter(file), { written: 300 });
    writer.lines(200);
    await waitForQueue(500);
    expectExactlyOnce(await queuedEnvelopes(t.client, t.keys.queue), 500);
    expect(await t.client.hlen(t.keys.offsets)).toBe(2);
  });

  it('copytruncate: every line read before the truncation is kept once, and lines after it are read from the start', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    writer.lines(1000);
    start([file]);
    await waitForQueue(1000);
    copyFileSync(file, dir.file('orders.log.1'));
    truncateSync(file, 0);
    await eventually(async () => (await t.client.hvals(t.keys.offsets))[0]?.startsWith('1:') ?? false, { message: 'truncation not noticed' });
    writer.lines(400);
    await waitForQueue(1400);
    await new Promise((r) => setTimeout(r, 200));
    const envelopes = await queuedEnvelopes(t.client, t.keys.queue);
    expectExactlyOnce(envelopes, 1400);
    // Lines after the truncation carry a new generation in their id, so ids never repeat.
    expect(envelopes[1000]!.id).toMatch(/\.1:0$/);
  });

  it('copytruncate while stopped: lines written before the truncation and not yet read are not collected (they are in the copy)', async () => {
    const file = dir.file('orders.log');
    const writer = new LineWriter(file);
    writer.lines(1000);
    const first = start([file]);
    await waitForQueue(1000);
    await stop(first);
    writer.lines(100); // 1000…1099: never read
    copyFileSync(file, dir.file('orders.log.1'));
    truncateSync(file, 0);
    writer.lines(10); // 1100…1109: shorter than the stored position, so the truncation is noticed
    start([file]);
    await waitForQueue(1010);
    await new Promise((r) => setTimeout(r, 300));
    const numbers = lineNumbers(await queuedEnvelopes(t.client, t.keys.queue));
    expect(numbers).toEqual([...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 1100 + i)]);
  });

  it('turns a line over the maximum into an oversize envelope and goes on', async () => {
    const file = dir.file('orders.log');
    writeFileSync(file, `{"n":0}\n${'x'.repeat(2 * 1024 * 1024)}\n{"n":1}\n`);
    start([file]);
    await waitForQueue(3);
    const [a, big, b] = await queuedEnvelopes(t.client, t.keys.queue);
    expect(a!.line).toBe('{"n":0}');
    expect(big!.oversize).toBe(2 * 1024 * 1024);
    expect(big!.line.length).toBe(4096);
    expect(b!.line).toBe('{"n":1}');
  });

  it('pauses reading while the queue is over its bound, and resumes without loss', async () => {
    const file = dir.file('orders.log');
    new LineWriter(file).lines(10_000);
    start([file], { queueMax: 2000, batchLines: 500 });
    await waitForQueue(2000);
    await new Promise((r) => setTimeout(r, 300));
    const held = await queueLength();
    // Bound plus what was in flight when the bound was seen.
    expect(held).toBeLessThanOrEqual(2000 + 4 * 500);
    const drained: string[] = [];
    await eventually(
      async () => {
        drained.push(...((await t.client.lpop(t.keys.queue, 1000)) ?? []));
        return drained.length === 10_000;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the collector did not resume after the queue drained' },
    );
    const envelopes = drained.map((d) => parseEnvelope(d)!);
    expectExactlyOnce(envelopes, 10_000);
  });

  it('follows several files at once', async () => {
    const a = dir.file('a.log');
    const b = dir.file('b.log');
    new LineWriter(a).lines(500);
    writeFileSync(b, '');
    start([a, b]);
    const wb = Object.assign(new LineWriter(b), { written: 500 });
    wb.lines(500);
    await waitForQueue(1000);
    const envelopes = await queuedEnvelopes(t.client, t.keys.queue);
    expectExactlyOnce(envelopes, 1000);
    expect(new Set(envelopes.map((e) => e.source))).toEqual(new Set([a, b]));
  });
});
