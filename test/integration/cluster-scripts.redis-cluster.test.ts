/**
 * Crema's scripts and window reader on a real Redis Cluster (3 masters, 3 replicas): each shard's
 * keys share one slot, so every script runs without CROSSSLOT, and windows counted on three shards
 * (on three different masters) read back as the exact sums.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EnvelopeBatch } from '../../collector/envelope-batch.js';
import { positionReplicated } from '../../collector/stored-position.js';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { EnvelopeFramer } from '../../core/envelope.js';
import { createRedisCluster } from '../../core/redis.js';
import { Scripts } from '../../core/scripts.js';
import { shardLayout } from '../../core/shards.js';
import { WindowReader } from '../../core/window-reader.js';
import { windowStart } from '../../core/windows.js';
import { BatchCounter } from '../../processor/batch-counter.js';
import { expectedWindows, orderLines } from '../support/orders.js';
import { type RedisClusterServer, prefixOnDistinctMasters, startSharedRedisCluster } from '../support/redis-cluster.js';

const W = 10_000;
const RULES = { windowMs: W, graceMs: W, retentionMs: 86_400_000 };
let server: RedisClusterServer;
let cluster: Cluster;

beforeAll(async () => {
  server = await startSharedRedisCluster();
  cluster = createRedisCluster(server.urls, { name: 'test-cluster' });
  await cluster.connect();
}, 60_000);
afterAll(async () => {
  cluster?.disconnect();
  await server?.dispose();
});

it('counts three shards on three masters and reads back the exact sums', async () => {
  // A prefix whose three shards are served by three different masters: the test spans the cluster.
  const shards = shardLayout(await prefixOnDistinctMasters(cluster, 3), 3, true).shards;

  const now = Date.now();
  const lines = orderLines(6_000, { seed: 31, firstStart: windowStart(now, W) - 5 * W, windows: 6, windowMs: W });
  const counter = new BatchCounter({ catalog: DEFAULT_CATALOG, windowMs: W, limits: { maxFutureMs: 300_000, maxPastMs: RULES.retentionMs } });
  for (const [shard, keys] of shards.entries()) {
    const scripts = new Scripts(cluster, keys);
    // Shard i gets the lines i, i+3, i+6, …, pushed in batches as a collector would, with its position.
    const mine = lines.filter((_, i) => i % 3 === shard);
    const framer = new EnvelopeFramer('test-host', `/shard-${shard}.jsonl`, `f${shard}.0`);
    await scripts.initPosition(`f${shard}`, '0:0');
    for (let from = 0; from < mine.length; from += 500) {
      const batch = new EnvelopeBatch(64 * 1024);
      mine.slice(from, from + 500).forEach((line, j) => batch.add(framer.header(from + j, now), Buffer.from(line), 0, Buffer.byteLength(line)));
      await scripts.pushBatch({ fileKey: `f${shard}`, expected: `0:${from}`, next: `0:${from + 500}`, envelopes: batch.encoded() });
    }
    // And is drained as a processor would: claim, count, fenced commit.
    const lease = { consumer: `p${shard}`, token: `t${shard}`, leaseMs: 10_000 };
    await scripts.acquireLease(lease);
    for (;;) {
      const claimed = await scripts.claimBatch(lease, 'next', 700);
      if (claimed.length === 0) break;
      await scripts.commitBatch(lease, counter.count(claimed, Date.now()), RULES);
    }
    await scripts.tick(Date.now(), RULES);
  }

  const reader = new WindowReader(cluster, shards);
  const starts = (await reader.startsBetween(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 100)).reverse();
  const expected = expectedWindows(lines, W);
  expect(starts).toEqual([...expected.keys()].sort((a, b) => a - b));
  const windows = await reader.read(starts, W);
  expect(windows.map((w) => [w.start, w.orders, w.drinks])).toEqual(starts.map((s) => [s, expected.get(s)!.orders, expected.get(s)!.drinks]));
  // The oldest windows are due: every shard closed them.
  expect(windows[0]!.final).toBe(true);
  expect(windows.reduce((sum, w) => sum + w.orders, 0)).toBe(lines.length);
});

it("checks a file's position on the master of its shard and on that master's replica", async () => {
  const keys = shardLayout(await prefixOnDistinctMasters(cluster, 3), 3, true).shards[2]!;
  await cluster.hset(keys.offsets, 'f-replicated', '0:500');
  // ROLE and WAIT carry no key: they go with the HGET, to the node that holds the offsets, so the
  // master's replica is found and waited for (a node without replicas would say so at once).
  const role = (await cluster.pipeline().hget(keys.offsets, 'f-replicated').role().exec())!;
  expect(role[1]![1]).toEqual(['master', expect.any(Number), [expect.any(Array)]]);
  expect(await positionReplicated(cluster, { offsetsKey: keys.offsets, fileKey: 'f-replicated', pushed: '0:500', path: '/orders.jsonl' }, 5000)).toBe(true);
  await expect(positionReplicated(cluster, { offsetsKey: keys.offsets, fileKey: 'f-replicated', pushed: '0:900', path: '/orders.jsonl' })).rejects.toMatchObject({ type: 'position_lost' });
  await cluster.del(keys.offsets);
});
