/**
 * The `offsets` hash stays bounded: the collector forgets the read position of a file that has been
 * gone for longer than the retention, and never the position of a file that still exists or is open.
 */
import { rmSync, statSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fileKey, identityOf } from '../../collector/file-identity.js';
import { OffsetPruner } from '../../collector/offset-pruning.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, rotate } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { collectorCaughtUp, expectCollectedExactly, lineNumbers, queuedEnvelopes } from '../support/queue.js';

const env = useTestEnvironment();
const start: typeof env.startCollector = (files, overrides) => env.startCollector(files, overrides);

const DAY = 86_400_000;
const keyOf = (path: string) => fileKey(identityOf(statSync(path)));
const positions = () => env.redis.client.hgetall(env.redis.keys.offsets);
async function seen(): Promise<Record<string, number>> {
  const flat = await env.redis.client.zrange(env.redis.keys.offsetsSeen, '0', '-1', 'WITHSCORES');
  const entries: Record<string, number> = {};
  for (let i = 0; i < flat.length; i += 2) entries[flat[i]!] = Number(flat[i + 1]);
  return entries;
}

it('at start, forgets positions of files gone for longer than the retention and keeps those of files that exist', async () => {
  const file = env.dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(100);
  rotate(file); // orders.jsonl.1: read to its end long ago, still on disk
  writer.reopen();
  writer.lines(50);
  const rotated = keyOf(`${file}.1`);
  const longAgo = String(Date.now() - 30 * DAY);
  await env.redis.client.hset(env.redis.keys.offsets, { gone1: '0:10', gone2: '0:20', legacy: '0:5', [rotated]: `0:${statSync(`${file}.1`).size}` });
  await env.redis.client.zadd(env.redis.keys.offsetsSeen, longAgo, 'gone1', longAgo, 'gone2', longAgo, rotated);

  const startedAt = Date.now();
  const collector = start([file], { retentionMs: 7 * DAY });
  await eventually(async () => !('gone1' in (await positions())) && !('gone2' in (await positions())), {
    message: async () => `positions of gone files were kept: ${JSON.stringify(await positions())}`,
  });
  // Only the new file's lines: the rotated file's stored position is kept, so it is not read again.
  await eventually(async () => (await env.redis.client.llen(env.redis.keys.queue)) >= 50, { message: 'the followed file was not read' });
  await collectorCaughtUp(collector);
  expect(lineNumbers(await queuedEnvelopes(env.redis.client, env.redis.keys.queue))).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  const current = keyOf(file);
  expect(Object.keys(await positions()).sort()).toEqual([current, 'legacy', rotated].sort());
  const lastSeen = await seen();
  expect(Object.keys(lastSeen).sort()).toEqual([current, 'legacy', rotated].sort());
  // The file on disk and the followed one were seen now; a position from before this bookkeeping
  // starts its retention now.
  for (const key of [current, rotated, 'legacy']) expect(lastSeen[key]).toBeGreaterThanOrEqual(startedAt);
});

it('forgets a followed file once it has been rotated away, deleted and gone for the retention', async () => {
  const file = env.dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(100);
  const collector = start([file], { retentionMs: 1500, pruneEveryMs: 100 });
  const expectQueueToHoldExactly = (n: number) => expectCollectedExactly(env.redis.client, env.redis.keys.queue, collector, n);
  await expectQueueToHoldExactly(100);
  const first = keyOf(file);
  rotate(file);
  writer.reopen();
  writer.lines(50);
  await expectQueueToHoldExactly(150);
  const second = keyOf(file);
  rmSync(`${file}.1`);
  // Read to its end, closed after its linger, gone from the disk, then unseen for the retention.
  await eventually(async () => !(first in (await positions())), {
    timeoutMs: 30_000,
    message: async () => `the rotated file's position was kept: ${JSON.stringify(await positions())}`,
  });
  expect(Object.keys(await positions())).toEqual([second]);
  expect(Object.keys(await seen())).toEqual([second]);
  // The file that is still followed keeps its position through many rounds of pruning.
  writer.lines(10);
  await expectQueueToHoldExactly(160);
  expect(await positions()).toEqual({ [second]: expect.stringMatching(/^0:\d+$/) });
});

it('keeps a position that another collector refreshes while it is being pruned', async () => {
  const redis = await env.redis.connected('pruner');
  const longAgo = String(Date.now() - 30 * DAY);
  await env.redis.client.hset(env.redis.keys.offsets, { busy: '0:10', gone: '0:20' });
  await env.redis.client.zadd(env.redis.keys.offsetsSeen, longAgo, 'busy', longAgo, 'gone');
  // Another collector marks `busy` as seen between this one's read of the expired entries and its delete.
  const racing = new Proxy(redis, {
    get(target, property, receiver) {
      if (property !== 'zrangebyscore') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<typeof redis.zrangebyscore>) => {
        const expired = await target.zrangebyscore(...args);
        await env.redis.client.zadd(env.redis.keys.offsetsSeen, String(Date.now()), 'busy');
        return expired;
      };
    },
  });
  const pruner = new OffsetPruner({ redis: racing, keys: env.redis.keys, paths: () => [env.dir.file('orders.jsonl')], openFiles: () => [], retentionMs: DAY });
  expect(await pruner.run()).toEqual({ seen: 0, pruned: 0 });
  expect(await positions()).toEqual({ busy: '0:10', gone: '0:20' });
  // The next run deletes only what is really expired.
  expect(await new OffsetPruner({ redis, keys: env.redis.keys, paths: () => [env.dir.file('orders.jsonl')], openFiles: () => [], retentionMs: DAY }).run()).toEqual({ seen: 0, pruned: 1 });
  expect(await positions()).toEqual({ busy: '0:10' });
  expect(Object.keys(await seen())).toEqual(['busy']);
});
