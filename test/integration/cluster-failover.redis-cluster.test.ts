/**
 * A master fails over after it acknowledged writes its replica never got (the replica was stopped
 * and its link cut, so the loss is certain, not a matter of timing): the promoted replica holds an older claim and
 * no record of the last commit. The commit of the batch claimed meanwhile must write nothing and
 * say so, and recounting what the processing list holds then gives the exact counts: nothing lost,
 * nothing counted twice.
 */
import { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { EnvelopeFramer } from '../../core/envelope.js';
import { ClaimLostError } from '../../core/errors.js';
import { RedisKeys } from '../../core/keys.js';
import { createRedisCluster } from '../../core/redis.js';
import { type LeaseHold, Scripts } from '../../core/scripts.js';
import { shardPrefix } from '../../core/shards.js';
import { WindowReader } from '../../core/window-reader.js';
import { windowStart } from '../../core/windows.js';
import { BatchCounter } from '../../processor/batch-counter.js';
import { eventually } from '../support/eventually.js';
import { expectedWindows, orderLines } from '../support/orders.js';
import { type ClusterNode, type LocalRedisCluster, startLocalRedisCluster } from '../support/redis-cluster.js';

const W = 10_000;
const RULES = { windowMs: W, graceMs: W, retentionMs: 86_400_000 };
let server: LocalRedisCluster;
let cluster: Cluster;

beforeAll(async () => {
  server = await startLocalRedisCluster();
  cluster = createRedisCluster(server.urls, { name: 'test-failover' });
  cluster.on('error', () => {});
  await cluster.connect();
}, 60_000);
afterAll(async () => {
  cluster?.disconnect();
  await server?.dispose();
});

/** Reads a key's value on a replica (READONLY), to know what it has received. */
async function onReplica<T>(replica: ClusterNode, read: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port: replica.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    await redis.readonly();
    return await read(redis);
  } finally {
    redis.disconnect();
  }
}

it('a commit acknowledged by a master that died unreplicated is recounted, once, and the batch claimed after it is refused', async () => {
  const keys = new RedisKeys(shardPrefix(`test:${Math.random().toString(36).slice(2, 8)}:`, 0, 1, true));
  const scripts = new Scripts(cluster, keys);
  const counter = new BatchCounter({ catalog: DEFAULT_CATALOG, windowMs: W, limits: { maxFutureMs: 300_000, maxPastMs: RULES.retentionMs } });
  const now = Date.now();
  const lines = orderLines(3_000, { seed: 41, firstStart: windowStart(now, W) - 4 * W, windows: 4, windowMs: W });
  const framer = new EnvelopeFramer('test-host', '/orders.jsonl', 'f.0');
  await cluster.rpush(keys.queue, ...lines.map((line, i) => framer.frame(i, now, line)));
  const { master, replica } = await server.topologyOf(keys.queue);
  const commitsOn = async (lease: LeaseHold, claimed: Buffer[]) => scripts.commitBatch(lease, counter.count(claimed, Date.now()), RULES);
  const replicaHas = (processing: number, orders: number) =>
    eventually(
      async () =>
        onReplica(replica, async (r) => {
          const counted = await Promise.all((await r.zrange(keys.windows, '0', '-1')).map((s) => r.hget(keys.window(Number(s)), 'orders')));
          return (await r.llen(keys.processing('p'))) === processing && counted.reduce((sum, n) => sum + Number(n ?? 0), 0) === orders;
        }),
      { message: `the replica did not get ${processing} claimed and ${orders} counted` },
    );

  // Batch A committed and batch B claimed, both replicated.
  const first: LeaseHold = { consumer: 'p', token: 'before', leaseMs: 60_000 };
  await scripts.acquireLease(first);
  const a = await scripts.claimBatch(first, 'next', 1000);
  await commitsOn(first, a);
  const b = await scripts.claimBatch(first, 'next', 1000);
  await replicaHas(1000, 1000);

  // The replica stops, and its link is cut (a stopped process still takes bytes into its socket
  // buffer); the master acknowledges the commit of B and the claim of C, then dies.
  server.signal(replica, 'SIGSTOP');
  const direct = new Redis({ port: master.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  expect(await direct.call('CLIENT', 'KILL', 'TYPE', 'replica')).toBe(1);
  direct.disconnect();
  await commitsOn(first, b);
  const c = await scripts.claimBatch(first, 'next', 1000);
  await server.kill(master);
  server.signal(replica, 'SIGCONT');
  await server.waitUntilMaster(replica);

  // The promoted replica: B still claimed, its counts never added, C still queued.
  await eventually(async () => (await cluster.llen(keys.processing('p')).catch(() => -1)) === 1000, { timeoutMs: 20_000, message: 'the cluster did not answer from the promoted replica' });
  expect(await cluster.lrange(keys.processing('p'), 0, 0)).toEqual([b[0]!.toString()]);
  expect(await cluster.llen(keys.queue)).toBe(1000);
  // Committing C as if nothing happened would trim B with C's counts: refused, nothing written.
  await expect(commitsOn(first, c)).rejects.toBeInstanceOf(ClaimLostError);
  expect(await cluster.llen(keys.processing('p'))).toBe(1000);

  // What the processor does on ClaimLostError: take the lease again and recount what is claimed.
  const second: LeaseHold = { consumer: 'p', token: 'after', leaseMs: 60_000 };
  await scripts.acquireLease(second);
  const resumed = await scripts.claimBatch(second, 'resume', 1000);
  expect(resumed).toEqual(b);
  await commitsOn(second, resumed);
  for (;;) {
    const next = await scripts.claimBatch(second, 'next', 1000);
    if (next.length === 0) break;
    await commitsOn(second, next);
  }

  const reader = new WindowReader(cluster, [keys]);
  const expected = expectedWindows(lines, W);
  const windows = await reader.read([...expected.keys()].sort((x, y) => x - y), W);
  expect(windows.map((w) => [w.start, w.orders, w.drinks])).toEqual([...expected].sort(([x], [y]) => x - y).map(([s, e]) => [s, e.orders, e.drinks]));
  expect(windows.reduce((sum, w) => sum + w.orders, 0)).toBe(lines.length);
  await server.restart(master);
}, 90_000);
