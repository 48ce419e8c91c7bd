/**
 * Redis Cluster: one shard against three on a local cluster (3 masters, 3 replicas), and the kill -9
 * of a master while three shards are processed. The processors run as `crema process` wires them:
 * one process, one cluster connection, one Processor per shard (`processor/main.ts`).
 */
import type { Cluster } from 'ioredis';
import { DEFAULT_CATALOG } from '../core/catalog.js';
import type { RedisKeys } from '../core/keys.js';
import { createMetrics, type Metrics } from '../core/metrics.js';
import { closeRedis, connectRedis, createRedis, createRedisCluster, type RedisClient } from '../core/redis.js';
import { type ShardLayout, shardLayout } from '../core/shards.js';
import { stageGroup } from '../core/stage.js';
import { OrderFactory } from '../generator/orders.js';
import { Processor } from '../processor/processor.js';
import { type LocalRedisCluster, startLocalRedisCluster } from '../test/support/redis-cluster.js';
import { benchProcessorOptions, frame } from './processor.js';
import { percentile, round, waitUntil } from './support.js';

const MASTERS = 3;
const CONSUMER = 'bench';
/** How often the failover run reads each shard's committed-orders metric. */
const SAMPLE_MS = 5;
/** After this long from the kill, acknowledgements in flight at the kill have arrived; the promotion takes longer than the node timeout (1.5 s). */
const SETTLE_MS = 100;

export interface ShardsResult {
  readonly shards: number;
  /** Orders drained in each round, over all shards. */
  readonly ordersPerRound: number;
  /** Orders/s of each round, in order. */
  readonly rounds: readonly number[];
  /** The median of the rounds. */
  readonly ordersPerSecond: number;
  /** Each master that held a shard: Redis CPU (`INFO cpu`, user + sys) per order of its shards over every round, µs. */
  readonly masters: readonly { readonly port: number; readonly cpuUsPerOrder: number }[];
  /** CPU of all replicas together per order, µs: they apply the same writes. */
  readonly replicasCpuUsPerOrder: number;
  /** CPU of this Node process (the processors) per order, µs. */
  readonly nodeCpuUsPerOrder: number;
}

/** One drain of pre-filled queues, in totals. */
interface Drain {
  readonly orders: number;
  readonly seconds: number;
  /** The masters that held shards: their CPU over the drain and their shards' orders. */
  readonly masters: readonly { readonly port: number; readonly cpuMs: number; readonly orders: number }[];
  readonly replicasCpuMs: number;
  readonly nodeCpuMs: number;
}

export interface FailoverRun {
  /** Orders pushed, over all shards. */
  readonly orders: number;
  /** The cluster's own failover: from the kill to the replica promoted and every node saying `cluster_state:ok`. */
  readonly failoverMs: number;
  /** From the kill to the first commit of the killed master's shard acknowledged to its processor. */
  readonly killToCommitMs: number;
  /** Orders of the killed master's shard committed before the kill (of `orders` / 3). */
  readonly committedBeforeKill: number;
  /** Orders the other shards committed between the kill and the promotion. */
  readonly othersCommittedDuringFailover: number;
  /** Longest time after the kill in which the other shards, with orders still queued, committed nothing. */
  readonly othersLongestStallMs: number;
  /** Orders whose commit the killed master acknowledged but its replica never received: counted again. */
  readonly recountedAfterLoss: number;
  /** Orders in every shard's window hashes afterwards: exact when it equals `orders`. */
  readonly counted: number;
}

export type ClusterBench =
  | { readonly available: false; readonly reason: string }
  | { readonly available: true; readonly one: ShardsResult; readonly three: ShardsResult; readonly failover: FailoverRun };

/**
 * Both measurements on one local cluster; `available: false` when redis-server cannot start one.
 * Rounds of 1 shard and of 3 alternate, so that load from elsewhere on the machine falls on both.
 */
export async function benchCluster(ordersPerShard: number, rounds: number, batchSize: number): Promise<ClusterBench> {
  let local: LocalRedisCluster;
  try {
    local = await startLocalRedisCluster({ masters: MASTERS });
  } catch (error) {
    return { available: false, reason: (error as Error).message.split('\n')[0]! };
  }
  const client = createRedisCluster(local.urls, { name: 'bench-cluster' });
  try {
    await connectRedis(client);
    // The failover run queues twice as many, so that every shard still has work when the replica takes over.
    const envelopes = frame(Array.from({ length: 2 * ordersPerShard }, orderLines()));
    const drains: Record<1 | 3, Drain[]> = { 1: [], 3: [] };
    for (let round = 0; round < rounds; round++) {
      for (const shards of [1, 3] as const) drains[shards].push(await drain(local, client, await spreadLayout(local, shards), envelopes.slice(0, ordersPerShard), batchSize));
    }
    const failover = await killDuringProcessing(local, client, (await spreadLayout(local, 3)).layout, envelopes, batchSize);
    return { available: true, one: summarize(1, drains[1]), three: summarize(3, drains[3]), failover };
  } finally {
    await closeRedis(client);
    await local.dispose();
  }
}

/** The rows `npm run bench` prints. */
export function clusterRows(result: ClusterBench): [string, string, string][] {
  if (!result.available) return [['cluster: 1 vs 3 shards, failover', 'n/a', `redis-server cannot start a cluster here: ${result.reason}`]];
  const { one, three, failover } = result;
  const n = (x: number) => round(x).toLocaleString('en');
  const list = (xs: readonly number[], digits = 0) => xs.map((x) => round(x, digits).toLocaleString('en')).join(', ');
  const cpu = (r: ShardsResult) => r.masters.map((m) => round(m.cpuUsPerOrder, 2)).join(' / ');
  // Each round of 3 shards follows one of 1 shard: a pair shares whatever else loads the machine.
  const ratios = three.rounds.map((r, i) => r / one.rounds[i]!);
  const others = (r: ShardsResult) => `replicas ${round(r.replicasCpuUsPerOrder, 2)} µs, this process ${round(r.nodeCpuUsPerOrder, 2)} µs per order`;
  return [
    ['cluster: 1 shard, queue → committed windows (orders/s)', n(one.ordersPerSecond), `median of ${one.rounds.length} rounds (${list(one.rounds)}), ${n(one.ordersPerRound)} orders each; local cluster of 3 masters + 3 replicas, AOF everysec`],
    ['cluster: 3 shards, queue → committed windows (orders/s)', n(three.ordersPerSecond), `median of ${three.rounds.length} rounds (${list(three.rounds)}), ${n(three.ordersPerRound)} orders each, a shard per master, a Processor per shard in one process; 3 shards / 1 shard by round ${list(ratios, 2)} (median ${round(median(ratios), 2)})`],
    ['cluster: Redis CPU per order on the master, 1 shard (µs)', cpu(one), `INFO cpu of each master that held the shard, over its orders; ${others(one)}`],
    ['cluster: Redis CPU per order per master, 3 shards (µs)', cpu(three), `INFO cpu of each master, over its shard's orders; ${others(three)}`],
    ['cluster: master killed → first commit of its shard (ms)', n(failover.killToCommitMs), `kill -9 of shard 0's master, 3 shards processing; the cluster's failover ${n(failover.failoverMs)} ms; the other shards committed ${n(failover.othersCommittedDuringFailover)} orders meanwhile and nothing for ${n(failover.othersLongestStallMs)} ms at most`],
    ['cluster: counts after the failover', failover.counted === failover.orders ? 'exact' : 'WRONG', `window hashes of all shards hold ${n(failover.counted)} of ${n(failover.orders)} orders pushed; ${n(failover.recountedAfterLoss)} recounted after commits lost with the master`],
  ];
}

function summarize(shards: number, drains: readonly Drain[]): ShardsResult {
  const total = (f: (d: Drain) => number) => drains.reduce((sum, d) => sum + f(d), 0);
  const orders = total((d) => d.orders);
  const masters = new Map<number, { cpuMs: number; orders: number }>();
  for (const m of drains.flatMap((d) => d.masters)) {
    const t = masters.get(m.port) ?? { cpuMs: 0, orders: 0 };
    masters.set(m.port, { cpuMs: t.cpuMs + m.cpuMs, orders: t.orders + m.orders });
  }
  const rounds = drains.map((d) => d.orders / d.seconds);
  return {
    shards,
    ordersPerRound: drains[0]?.orders ?? 0,
    rounds,
    ordersPerSecond: median(rounds),
    masters: [...masters].map(([port, t]) => ({ port, cpuUsPerOrder: (t.cpuMs * 1000) / t.orders })),
    replicasCpuUsPerOrder: (total((d) => d.replicasCpuMs) * 1000) / orders,
    nodeCpuUsPerOrder: (total((d) => d.nodeCpuMs) * 1000) / orders,
  };
}

function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

function orderLines(): () => string {
  const factory = new OrderFactory(DEFAULT_CATALOG, 7);
  return () => factory.line();
}

let layouts = 0;

/** Shards under a fresh prefix, each on a master of its own (as an operator would place them), and those masters' ports. */
async function spreadLayout(local: LocalRedisCluster, shards: number): Promise<{ layout: ShardLayout; masters: number[] }> {
  for (;;) {
    const layout = shardLayout(`bench:${process.pid}:${layouts++}:`, shards, true);
    const masters = await Promise.all(layout.shards.map(async (keys) => (await local.topologyOf(keys.queue)).master.port));
    if (new Set(masters).size === Math.min(shards, MASTERS)) return { layout, masters };
  }
}

/** Queues `envelopes` in every shard and waits until every replica has them. */
async function fill(client: Cluster, layout: ShardLayout, envelopes: readonly string[]): Promise<void> {
  for (const keys of layout.shards) {
    for (let i = 0; i < envelopes.length; i += 5000) await client.rpush(keys.queue, ...envelopes.slice(i, i + 5000));
  }
  await Promise.all(client.nodes('master').map((node) => node.wait(1, 10_000)));
}

/** Pre-filled queues drained by one Processor per shard: throughput and CPU per order. */
async function drain(
  local: LocalRedisCluster,
  client: Cluster,
  { layout, masters }: { layout: ShardLayout; masters: number[] },
  envelopes: readonly string[],
  batchSize: number,
): Promise<Drain> {
  await fill(client, layout, envelopes);
  const before = await nodeCpu(local.urls);
  const nodeBefore = process.cpuUsage();
  const group = processors(client, layout, () => createMetrics('bench'), batchSize);
  const started = performance.now();
  void group.start();
  await waitUntil(() => drained(client, layout), 120_000, 10);
  const seconds = (performance.now() - started) / 1000;
  const node = process.cpuUsage(nodeBefore);
  const after = await nodeCpu(local.urls);
  await group.close();
  for (const [shard, keys] of layout.shards.entries()) {
    const counted = await windowTotal(client, keys);
    if (counted !== envelopes.length) throw new Error(`cluster benchmark: shard ${shard} counted ${counted} of ${envelopes.length}`);
  }
  const cpuMs = (port: number) => (after.get(port)!.seconds - before.get(port)!.seconds) * 1000;
  const ports = [...before].map(([port, { role }]) => ({ port, role }));
  return {
    orders: envelopes.length * layout.shards.length,
    seconds,
    masters: ports
      .filter((p) => masters.includes(p.port))
      .map(({ port }) => ({ port, cpuMs: cpuMs(port), orders: envelopes.length * masters.filter((m) => m === port).length })),
    replicasCpuMs: ports.filter((p) => p.role === 'replica').reduce((sum, p) => sum + cpuMs(p.port), 0),
    nodeCpuMs: (node.user + node.system) / 1000,
  };
}

interface Sample {
  readonly at: number;
  /** Orders each shard's processor has had committed so far. */
  readonly committed: readonly number[];
}

/**
 * kill -9 of shard 0's master once its processor has committed a few batches, with nothing waited for
 * (what the replica had not received is lost); the processors go on until every queue is drained.
 * Each shard's Processor has metrics of its own, read every {@link SAMPLE_MS}: the first rise of
 * shard 0's committed orders after the kill is its first commit on the promoted replica.
 */
async function killDuringProcessing(
  local: LocalRedisCluster,
  client: Cluster,
  layout: ShardLayout,
  envelopes: readonly string[],
  batchSize: number,
): Promise<FailoverRun> {
  const victim = 0;
  await fill(client, layout, envelopes);
  const metrics = layout.shards.map(() => createMetrics('bench'));
  const group = processors(client, layout, (shard) => metrics[shard]!, batchSize);
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ at: Date.now(), committed: await Promise.all(metrics.map(committedOrders)) });
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    }
  })();
  void group.start();
  await waitUntil(async () => (samples.at(-1)?.committed[victim] ?? 0) >= 5 * batchSize, 120_000, SAMPLE_MS);
  const failover = await local.killMasterOf(layout.shards[victim]!.queue, { replicated: false });
  const killedAt = Date.now() - failover.failoverMs;
  await waitUntil(() => drained(client, layout), 120_000, 10);
  sampling = false;
  await sampler;
  await group.close();

  const at = (t: number) => samples.findLast((s) => s.at <= t) ?? samples[0]!;
  const settled = samples.find((s) => s.at >= killedAt + SETTLE_MS);
  const first = settled && samples.find((s) => s.at > settled.at && s.committed[victim]! > settled.committed[victim]!);
  if (!first) throw new Error(`cluster benchmark: shard 0 committed nothing after its master was killed (${at(killedAt).committed[victim]} of ${envelopes.length} before); queue more orders`);
  const others = (s: Sample) => s.committed.reduce((sum, c, shard) => (shard === victim ? sum : sum + c), 0);
  let counted = 0;
  for (const keys of layout.shards) counted += await windowTotal(client, keys);
  return {
    orders: envelopes.length * layout.shards.length,
    failoverMs: failover.failoverMs,
    killToCommitMs: first.at - killedAt,
    committedBeforeKill: at(killedAt).committed[victim]!,
    othersCommittedDuringFailover: others(at(killedAt + failover.failoverMs)) - others(at(killedAt)),
    othersLongestStallMs: longestStall(samples.filter((s) => s.at >= killedAt && others(s) < (layout.shards.length - 1) * envelopes.length).map((s) => ({ at: s.at, value: others(s) }))),
    recountedAfterLoss: (await committedOrders(metrics[victim]!)) - envelopes.length,
    counted,
  };
}

/** The longest span of samples over which the value did not change, ms. */
function longestStall(samples: readonly { at: number; value: number }[]): number {
  let longest = 0;
  let since = samples[0];
  for (const s of samples) {
    if (s.value !== since?.value) since = s;
    else longest = Math.max(longest, s.at - since.at);
  }
  return longest;
}

/** One Processor per shard on one connection, as `processor/main.ts` wires them. */
function processors(client: RedisClient, layout: ShardLayout, metrics: (shard: number) => Metrics, batchSize: number) {
  return stageGroup(
    layout.shards.map((keys, shard) => new Processor({ ...benchProcessorOptions(client, keys, batchSize, metrics(shard)), shardedPubSub: layout.shardedPubSub })),
  );
}

async function committedOrders(metrics: Metrics): Promise<number> {
  const { values } = await metrics.processor.orders.get();
  return values.find((v) => v.labels.result === 'counted')?.value ?? 0;
}

/** Every queue empty and no batch claimed; false while a shard has no master. */
async function drained(client: RedisClient, layout: ShardLayout): Promise<boolean> {
  try {
    for (const keys of layout.shards) {
      if ((await client.llen(keys.queue)) > 0 || (await client.exists(keys.processing(CONSUMER))) > 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Orders in a shard's window hashes. */
async function windowTotal(client: RedisClient, keys: RedisKeys): Promise<number> {
  let total = 0;
  for (const start of await client.zrange(keys.windows, '0', '-1')) total += Number(await client.hget(keys.window(Number(start)), 'orders'));
  return total;
}

/** Each node's role and CPU seconds so far (`INFO`), by port. */
async function nodeCpu(urls: readonly string[]): Promise<Map<number, { role: 'master' | 'replica'; seconds: number }>> {
  const nodes = await Promise.all(
    urls.map(async (url) => {
      const redis = createRedis(url, { name: 'bench-cpu' });
      try {
        await connectRedis(redis);
        const info = await redis.info();
        const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
        const role: 'master' | 'replica' = /^role:master/m.test(info) ? 'master' : 'replica';
        return [Number(new URL(url).port), { role, seconds: field('used_cpu_user') + field('used_cpu_sys') }] as const;
      } finally {
        await closeRedis(redis);
      }
    }),
  );
  return new Map(nodes);
}
