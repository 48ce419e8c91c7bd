/** The collector against real files and a real Redis: tail -F semantics and exactly-once pushes. */
import { copyFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { parseEnvelope } from '../../core/envelope.js';
import { createMetrics } from '../../core/metrics.js';
import { shardLayout } from '../../core/shards.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, rotate } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { metricValue } from '../support/metrics.js';
import { collectorCaughtUp, expectCollectedExactly, expectExactlyOnce, lineNumbers, queuedEnvelopes } from '../support/queue.js';

const env = useTestEnvironment();
const start: typeof env.startCollector = (files, overrides) => env.startCollector(files, overrides);
const queueLength = () => env.redis.client.llen(env.redis.keys.queue);

async function waitForQueue(n: number, timeoutMs = 15_000): Promise<void> {
  await eventually(async () => (await queueLength()) >= n, {
    timeoutMs,
    message: async () => `queue did not reach ${n} (has ${await queueLength()})`,
  });
}

const expectQueueToHoldExactly = (collector: Collector, n: number, options?: { timeoutMs?: number }) =>
  expectCollectedExactly(env.redis.client, env.redis.keys.queue, collector, n, options);
const caughtUp = collectorCaughtUp;

/** `orders.log` in the test's directory with `lines` lines, and its writer. */
function followedFile(lines = 0): { file: string; writer: LineWriter } {
  const file = env.dir.file('orders.log');
  const writer = new LineWriter(file);
  if (lines > 0) writer.lines(lines);
  return { file, writer };
}

describe('collector', () => {
  it('frames whole lines into envelopes; a partial last line waits for its newline', async () => {
    const file = env.dir.file('orders.log');
    writeFileSync(file, '{"n":0}\n{"n":1}\r\n{"n":');
    const collector = start([file]);
    await waitForQueue(2);
    const [first, second] = await queuedEnvelopes(env.redis.client, env.redis.keys.queue);
    expect(first).toMatchObject({ v: 2, host: 'test-host', source: file, line: '{"n":0}' });
    expect(first!.id).toMatch(/^[0-9a-f]{16}\.0:0$/);
    expect(second).toMatchObject({ line: '{"n":1}', id: first!.id.replace(/:0$/, ':8') });
    expect(Date.now() - first!.ingestedAt).toBeLessThan(60_000);
    // The partial line is not pushed until it is whole.
    await caughtUp(collector, { bytesBehind: '{"n":'.length });
    expect(await queueLength()).toBe(2);
    new LineWriter(file).write('2}\n');
    await waitForQueue(3);
    expect(lineNumbers(await queuedEnvelopes(env.redis.client, env.redis.keys.queue))).toEqual([0, 1, 2]);
  });

  it('resumes after a restart from the position stored in Redis', async () => {
    const { file, writer } = followedFile(5000);
    const first = start([file], { batchLines: 100 });
    await waitForQueue(5000);
    await env.stop(first);
    writer.lines(3000);
    await expectQueueToHoldExactly(start([file]), 8000);
  });

  it('starts at the end of a file it has never read when asked to', async () => {
    const { file, writer } = followedFile(100);
    start([file], { from: 'end' });
    await eventually(async () => (await env.redis.client.hlen(env.redis.keys.offsets)) === 1, { message: 'no position stored' });
    writer.lines(10);
    await waitForQueue(10);
    expect(lineNumbers(await queuedEnvelopes(env.redis.client, env.redis.keys.queue))).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });

  it('loses nothing through rename rotation while the writer keeps appending', async () => {
    const { file, writer } = followedFile();
    const collector = start([file], { batchLines: 50 });
    await eventually(async () => (await env.redis.client.hlen(env.redis.keys.offsets)) === 1, { message: 'file not followed' });
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
    await expectQueueToHoldExactly(collector, total, { timeoutMs: 30_000 });
  });

  it('reads files rotated away faster than it checks the path', async () => {
    const { file, writer } = followedFile();
    const collector = start([file]);
    await eventually(async () => (await env.redis.client.hlen(env.redis.keys.offsets)) === 1, { message: 'file not followed' });
    // Three rotations with no pause: the middle files exist at the path only for an instant.
    for (let round = 3; round >= 1; round--) {
      writer.lines(1000);
      rotate(file);
      writer.reopen();
    }
    writer.lines(1000);
    await expectQueueToHoldExactly(collector, 4000);
  });

  it('after a restart, finishes a rotated file it had not drained', async () => {
    const { file, writer } = followedFile(1000);
    const first = start([file]);
    await waitForQueue(1000);
    await env.stop(first);
    // While the collector is down: rotation, with late writes to the old file, then new lines.
    renameSync(file, env.dir.file('orders.log.1'));
    writer.lines(500);
    writer.reopen();
    writer.lines(700);
    await expectQueueToHoldExactly(start([file]), 2200);
  });

  it('follows a file deleted and created again at the same path', async () => {
    const followed = followedFile(300);
    const file = followed.file;
    let writer = followed.writer;
    const collector = start([file]);
    await waitForQueue(300);
    writer.close();
    rmSync(file);
    writer = Object.assign(new LineWriter(file), { written: 300 });
    writer.lines(200);
    await expectQueueToHoldExactly(collector, 500);
    expect(await env.redis.client.hlen(env.redis.keys.offsets)).toBe(2);
  });

  it('copytruncate: every line read before the truncation is kept once, and lines after it are read from the start', async () => {
    const { file, writer } = followedFile(1000);
    const collector = start([file]);
    await waitForQueue(1000);
    copyFileSync(file, env.dir.file('orders.log.1'));
    truncateSync(file, 0);
    await eventually(async () => (await env.redis.client.hvals(env.redis.keys.offsets))[0]?.startsWith('1:') ?? false, { message: 'truncation not noticed' });
    writer.lines(400);
    await waitForQueue(1400);
    await caughtUp(collector);
    const envelopes = await queuedEnvelopes(env.redis.client, env.redis.keys.queue);
    expectExactlyOnce(envelopes, 1400);
    // Lines after the truncation carry a new generation in their id, so ids never repeat.
    expect(envelopes[1000]!.id).toMatch(/\.1:0$/);
  });

  it('copytruncate while stopped: lines written before the truncation and not yet read are not collected (they are in the copy)', async () => {
    const { file, writer } = followedFile(1000);
    const first = start([file]);
    await waitForQueue(1000);
    await env.stop(first);
    writer.lines(100); // 1000…1099: never read
    copyFileSync(file, env.dir.file('orders.log.1'));
    truncateSync(file, 0);
    writer.lines(10); // 1100…1109: shorter than the stored position, so the truncation is noticed
    const collector = start([file]);
    await waitForQueue(1010);
    await caughtUp(collector);
    const numbers = lineNumbers(await queuedEnvelopes(env.redis.client, env.redis.keys.queue));
    expect(numbers).toEqual([...Array.from({ length: 1000 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 1100 + i)]);
  });

  it('turns a line over the maximum into an oversize envelope and goes on', async () => {
    const file = env.dir.file('orders.log');
    writeFileSync(file, `{"n":0}\n${'x'.repeat(2 * 1024 * 1024)}\n{"n":1}\n`);
    start([file]);
    await waitForQueue(3);
    const [a, big, b] = await queuedEnvelopes(env.redis.client, env.redis.keys.queue);
    expect(a!.line).toBe('{"n":0}');
    expect(big!.oversize).toBe(2 * 1024 * 1024);
    expect(big!.line.length).toBe(4096);
    expect(b!.line).toBe('{"n":1}');
  });

  it('pauses reading while the queue is over its bound, and resumes without loss', async () => {
    const file = env.dir.file('orders.log');
    new LineWriter(file).lines(10_000);
    const metrics = createMetrics('test-host');
    const collector = start([file], { queueMax: 2000, batchLines: 500, metrics });
    // Held by the bound: it paused, and stays paused with most of the file unread while nobody drains.
    await eventually(async () => (await metricValue(metrics, 'coffee_collector_backpressure_pauses_total')) === 1, { message: 'the collector never paused' });
    const backlog = await collector.backlog();
    expect(backlog.pushesInFlight).toBe(0);
    expect(backlog.bytesBehind).toBeGreaterThan(0);
    const held = await queueLength();
    // Bound plus what was in flight when the bound was seen.
    expect(held).toBeGreaterThan(2000);
    expect(held).toBeLessThanOrEqual(2000 + 4 * 500);
    expect((await collector.backlog()).bytesBehind).toBe(backlog.bytesBehind);
    expect(await queueLength()).toBe(held);
    expect(await metricValue(metrics, 'coffee_collector_backpressure_pauses_total')).toBe(1);
    const drained: string[] = [];
    await eventually(
      async () => {
        drained.push(...((await env.redis.client.lpop(env.redis.keys.queue, 1000)) ?? []));
        return drained.length === 10_000;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: 'the collector did not resume after the queue drained' },
    );
    const envelopes = drained.map((d) => parseEnvelope(d)!);
    expectExactlyOnce(envelopes, 10_000);
  });

  it('follows several files at once', async () => {
    const a = env.dir.file('a.log');
    const b = env.dir.file('b.log');
    new LineWriter(a).lines(500);
    writeFileSync(b, '');
    const collector = start([a, b]);
    const wb = Object.assign(new LineWriter(b), { written: 500 });
    wb.lines(500);
    await waitForQueue(1000);
    await caughtUp(collector);
    const envelopes = await queuedEnvelopes(env.redis.client, env.redis.keys.queue);
    expectExactlyOnce(envelopes, 1000);
    expect(new Set(envelopes.map((e) => e.source))).toEqual(new Set([a, b]));
  });

  it('carries a file\'s read position over when the shard count grows: appended lines go to the new shard, nothing is read again', async () => {
    const { file, writer } = followedFile(100);
    const before = start([file]);
    await expectQueueToHoldExactly(before, 100);
    await env.stop(before);

    writer.lines(50);
    const shards = shardLayout(env.redis.prefix, 3, false).shards;
    const after = start([file], { shards, formerShards: [env.redis.keys] });
    await caughtUp(after);
    const queued = await Promise.all(shards.map((keys) => queuedEnvelopes(env.redis.client, keys.queue)));
    // Exactly the 50 new lines, in the one shard the file now belongs to; the old queue keeps its 100.
    expect(queued.map((q) => q.length).sort()).toEqual([0, 0, 50]);
    expect(lineNumbers(queued.flat())).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    expect(await queueLength()).toBe(100);
    // Moved, not copied: a later count that maps the file back finds no stale position.
    expect(await env.redis.client.hlen(env.redis.keys.offsets)).toBe(0);
  });
});

