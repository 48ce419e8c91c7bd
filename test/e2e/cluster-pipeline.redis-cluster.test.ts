/**
 * The whole pipeline on a real Redis Cluster (3 masters, 3 replicas) with 3 shards: two collectors
 * on two hosts follow two live files that rotate, three processors drain every shard, a web server
 * and an exporter read them. Stages are killed with kill -9 and restarted all along; in the second
 * test, masters are killed too. Afterwards every window equals the truth computed from the lines
 * written, in Redis (summed over shards), in the web API, in the live stream and in InfluxDB.
 */
import type { Cluster } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { connectRedis, createRedisCluster } from '../../core/redis.js';
import { type ShardLayout, shardLayout } from '../../core/shards.js';
import { WindowReader } from '../../core/window-reader.js';
import type { WindowSnapshot } from '../../core/window-snapshot.js';
import { windowStart } from '../../core/windows.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, rotate } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { influxLines, snapshotLines } from '../support/influx-truth.js';
import { type InfluxServer, startInfluxDB } from '../support/influx.js';
import { type ExpectedWindow, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type LocalRedisCluster, prefixOnDistinctMasters, startLocalRedisCluster } from '../support/redis-cluster.js';
import { SseTestClient } from '../support/sse.js';

const W = 2000;
const SHARDS = 3;
const LINES_PER_HOST = 12_000;
/** Chunks each file is written in, and every how many chunks it rotates. */
const CHUNKS = 24;
const ROTATE_EVERY = 6;
const env = useTestEnvironment();

let cluster: LocalRedisCluster | undefined;
let influx: InfluxServer | undefined;
let client: Cluster | undefined;
afterEach(async () => {
  client?.disconnect();
  await cluster?.dispose();
  await influx?.dispose();
  client = undefined;
  cluster = undefined;
  influx = undefined;
});

it('counts every order exactly once on 3 shards across 16 kill -9 of collectors and processors', async () => {
  const { truth, killsHit } = await runPipeline({ stageKills: 16, masterKills: 0 });
  expect(killsHit, 'kills that hit a stage at work').toBeGreaterThanOrEqual(12);
  expect(truth.size).toBeGreaterThan(0);
}, 300_000);

it('counts every order exactly once while two masters are killed and their replicas take over', async () => {
  const { failovers } = await runPipeline({ stageKills: 6, masterKills: 2 });
  expect(failovers).toHaveLength(2);
}, 300_000);

interface Run {
  readonly truth: Map<number, ExpectedWindow>;
  readonly killsHit: number;
  readonly failovers: number[];
}

async function runPipeline(plan: { stageKills: number; masterKills: number }): Promise<Run> {
  cluster = await startLocalRedisCluster();
  influx = await startInfluxDB();
  const database = await influx.createDatabase();
  client = createRedisCluster(cluster.urls, { name: 'test-reader' });
  await connectRedis(client);
  const prefix = await prefixOnDistinctMasters(client, SHARDS);
  const layout = shardLayout(prefix, SHARDS, true);

  const common = ['--redis-cluster-url', cluster.urls.join(','), '--prefix', prefix, '--shards', String(SHARDS)];
  const hosts = ['host-a', 'host-b'] as const;
  const files = hosts.map((host) => env.dir.file(`${host}.jsonl`));
  const lines = hosts.map((_, i) => orderLines(LINES_PER_HOST, { seed: 40 + i, firstStart: windowStart(Date.now(), W) - 12 * W, windows: 8, windowMs: W }));
  const writers = files.map((file) => new LineWriter(file));
  env.onCleanup(() => writers.forEach((w) => w.close()));

  const everyStage: CremaProcess[] = [];
  const track = (p: CremaProcess) => (everyStage.push(p), p);
  const collector = (i: number) => track(new CremaProcess('collect', [...common, '--host', hosts[i]!, '--file', files[i]!, '--collect-batch', '50']));
  let generation = 0;
  // Odd restarts keep the consumer's name (it takes its own claim back), even ones take a new one (recovered after the lease).
  const processor = (i: number) => track(new CremaProcess('process', [...common, '--window-seconds', String(W / 1000), '--grace-seconds', '1', '--consumer', generation++ % 2 === 0 ? `p${i}` : `p${i}-${generation}`, '--process-batch', '40', '--lease-seconds', '2', '--tick-ms', '200']));
  const collectors = [collector(0), collector(1)];
  const processors = [processor(0), processor(1), processor(2)];
  const web = new CremaProcess('serve', common);
  const exporter = new CremaProcess('export', [...common, '--influx-url', influx.url, '--influx-bucket', `${database}/autogen`, '--provisional-seconds', '0.2']);
  env.onCleanup(() => Promise.all([...collectors, ...processors, web, exporter].map((p) => p.terminate())));

  await web.waitForLog('live stream subscribed', 30_000);
  const pageUrl = String(web.entries().find((e) => e.msg === 'serving the live page')!.url).replace(/\/$/, '');
  const stream = new SseTestClient(`${pageUrl}/api/stream`);
  env.onCleanup(() => stream.close());

  // Writing, rotating, killing stages and masters, all at once.
  let killsHit = 0;
  let kills = 0;
  let written = false;
  const failovers: number[] = [];
  // What happened when, for the message of a failure.
  const timeline: string[] = [];
  const happened = (what: string) => timeline.push(`${new Date().toISOString()} ${what}`);
  const writing = (async () => {
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      // The files grow until the last kill: every kill meets a pipeline at work.
      while (kills < (plan.stageKills * chunk) / CHUNKS) await sleep(50);
      for (const [i, writer] of writers.entries()) {
        const mine = lines[i]!;
        const size = Math.ceil(mine.length / CHUNKS);
        writer.write(`${mine.slice(chunk * size, (chunk + 1) * size).join('\n')}\n`);
        if ((chunk + 1) % ROTATE_EVERY === 0 && chunk + 1 < CHUNKS) {
          rotate(files[i]!);
          writer.reopen();
        }
      }
      await sleep(250);
    }
    written = true;
  })();
  const killing = (async () => {
    for (let kill = 0; kill < plan.stageKills; kill++) {
      await sleep(150 + Math.random() * 350);
      if (kill % 2 === 0) {
        const i = (kill / 2) % 2;
        await collectors[i]!.waitForLog('following file', 30_000);
        // A collector killed while its file still grows is killed at work.
        killsHit += written ? 0 : 1;
        await collectors[i]!.kill9();
        happened(`collector ${i} (pid ${collectors[i]!.pid}) killed`);
        collectors[i] = collector(i);
      } else {
        const i = Math.floor(kill / 2) % 3;
        await processors[i]!.waitForLog('lease taken', 30_000);
        killsHit += !written || (await queued(client!, layout)) > 0 ? 1 : 0;
        await processors[i]!.kill9();
        happened(`processor ${i} killed`);
        processors[i] = processor(i);
      }
      kills++;
    }
  })();
  const failing = (async () => {
    for (let kill = 0; kill < plan.masterKills; kill++) {
      await sleep(1500);
      const shard = layout.shards[kill % SHARDS]!;
      const { killed, promoted, failoverMs } = await cluster!.killMasterOf(shard.queue, { replicated: false });
      failovers.push(failoverMs);
      happened(`master ${killed.port} of ${shard.prefix} killed ${failoverMs} ms ago; ${promoted.port} took over`);
      // Back as a replica of the master that replaced it, so that the next kill finds a replica in sync.
      await cluster!.restart(killed);
      happened(`${killed.port} back as a replica`);
    }
  })();
  await Promise.all([writing, killing, failing]);

  const all = lines.flat();
  const truth = expectedWindows(all, W);
  const total = all.length;
  const reader = new WindowReader(client, layout.shards);
  const starts = [...truth.keys()].sort((a, b) => a - b);
  const merged = async () => reader.read(starts, W);
  await eventually(
    async () => (await merged()).reduce((sum, w) => sum + w.orders, 0) >= total && (await queued(client!, layout)) === 0 && (await claimed(client!, layout)) === 0,
    {
      timeoutMs: 120_000,
      intervalMs: 300,
      message: async () =>
        `not drained: ${(await merged()).reduce((sum, w) => sum + w.orders, 0)} of ${total} orders counted, ${await queued(client!, layout)} queued, ${await claimed(client!, layout)} claimed; ` +
        `dead letters ${JSON.stringify(await deadLetters(client!, layout))}; windows off by ${JSON.stringify(offBy(await merged(), truth))}\n` +
        `timeline:\n${timeline.join('\n')}\n` +
        `stored positions: ${JSON.stringify(await Promise.all(layout.shards.map((k) => client!.hgetall(k.offsets))))}\n` +
        `keys of the run: ${JSON.stringify(await inventory(client!, prefix))}\n` +
        `warnings of every stage:\n${everyStage.flatMap((p) => p.entries().filter((e) => e.level !== 'info' && e.level !== 'debug' && Number(e.level) !== 30).map((e) => `${p.command} ${p.pid}: ${JSON.stringify(e)}`)).join('\n')}\n` +
        collectors.map((p, i) => `collector ${i}'s last logs:\n${p.logs.slice(-3000)}`).join('\n'),
    },
  );

  // Redis, summed over the shards: the truth, window by window, and no dead letters.
  const windows = await merged();
  expect(windows.map((w) => w.start)).toEqual(starts);
  for (const w of windows) expect(countsOf(w), `window ${new Date(w.start).toISOString()} in redis`).toEqual(expectedHash(truth.get(w.start)!));
  for (const keys of layout.shards) expect(await client.zcard(keys.deadIndex), `dead letters of ${keys.prefix}`).toBe(0);

  // The web API.
  const response = await fetch(`${pageUrl}/api/windows?from=${new Date(starts[0]!).toISOString()}&to=${new Date(starts.at(-1)!).toISOString()}&limit=100`);
  expect(response.status).toBe(200);
  const api = ((await response.json()) as { windows: WindowSnapshot[] }).windows;
  expect(api.map((w) => w.start)).toEqual(starts);
  for (const w of api) expect(countsOf(w), `window ${new Date(w.start).toISOString()} in the API`).toEqual(expectedHash(truth.get(w.start)!));

  // The live stream: the last event of each window is its merged truth. Events published while a
  // master failed over may be lost (pub/sub keeps nothing), so after a failover only Redis, the API and InfluxDB are checked.
  if (plan.masterKills === 0) {
    await eventually(
      () => starts.every((start) => streamed(stream, start) !== undefined && countsEqual(streamed(stream, start)!, truth.get(start)!)),
      { timeoutMs: 20_000, message: () => `the stream's last windows are not the truth: ${JSON.stringify(starts.map((s) => streamed(stream, s)?.orders))}` },
    );
  }

  // InfluxDB: the exporter's points are those of the merged windows.
  const wanted = windows.flatMap((w) => snapshotLines(w)).sort();
  await eventually(async () => JSON.stringify(await influxLines(influx!, database)) === JSON.stringify(wanted), {
    timeoutMs: 30_000,
    message: async () => `InfluxDB differs from the merged windows: ${(await influxLines(influx!, database)).length} lines, ${wanted.length} expected`,
  });

  for (const p of [...collectors, ...processors, web, exporter]) {
    const { code } = await p.terminate();
    expect(code, `exit code of crema ${p.command}; its last logs:\n${p.logs.slice(-2000)}`).toBe(0);
  }
  return { truth, killsHit, failovers };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Envelopes queued in every shard. */
async function queued(cluster: Cluster, layout: ShardLayout): Promise<number> {
  const lengths = await Promise.all(layout.shards.map((keys) => cluster.llen(keys.queue)));
  return lengths.reduce((a, b) => a + b, 0);
}

/** Envelopes claimed and not committed, in every shard. */
async function claimed(cluster: Cluster, layout: ShardLayout): Promise<number> {
  let count = 0;
  for (const keys of layout.shards) {
    for (const consumer of await cluster.smembers(keys.consumers)) count += await cluster.llen(keys.processing(consumer));
  }
  return count;
}

/**
 * Every key of the run on every master, with its type and size: a processing list no consumer
 * set names, or anything else no check above looks at, shows here.
 */
async function inventory(cluster: Cluster, prefix: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await node.type(key);
        const size = type === 'list' ? await node.llen(key) : type === 'hash' ? await node.hlen(key) : type === 'set' ? await node.scard(key) : type === 'zset' ? await node.zcard(key) : type === 'stream' ? await node.xlen(key) : 1;
        found[key] = `${type} ${size} on ${node.options.port}`;
      }
    } while (cursor !== '0');
  }
  return found;
}

/** Dead letters of every shard, by shard and reason: what a failed run looks at first. */
async function deadLetters(cluster: Cluster, layout: ShardLayout): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const [shard, keys] of layout.shards.entries()) {
    for (const member of await cluster.zrange(keys.deadIndex, '0', '-1')) {
      const reason = `${shard}:${member.split(':')[1]}`;
      found[reason] = (found[reason] ?? 0) + 1;
    }
  }
  return found;
}

/** Counted orders minus true orders, for every window where they differ. */
function offBy(windows: readonly WindowSnapshot[], truth: Map<number, ExpectedWindow>): Record<string, number> {
  const off: Record<string, number> = {};
  for (const [start, expected] of truth) {
    const counted = windows.find((w) => w.start === start)?.orders ?? 0;
    if (counted !== expected.orders) off[new Date(start).toISOString()] = counted - expected.orders;
  }
  return off;
}

/** A window's counts as a hash, as {@link expectedHash} writes the truth. */
function countsOf(w: WindowSnapshot): Record<string, string> {
  const hash: Record<string, string> = { orders: String(w.orders), drinks: String(w.drinks) };
  for (const [group, counts] of [['age', w.age], ['payment', w.payment], ['coffee', w.coffee]] as const) {
    for (const [name, n] of Object.entries(counts)) if (n > 0) hash[`${group}:${name}`] = String(n);
  }
  return hash;
}

function countsEqual(w: WindowSnapshot, truth: ExpectedWindow): boolean {
  return JSON.stringify(Object.entries(countsOf(w)).sort()) === JSON.stringify(Object.entries(expectedHash(truth)).sort());
}

/** The last window event of the stream for the window at `start`. */
function streamed(stream: SseTestClient, start: number): WindowSnapshot | undefined {
  return stream
    .named('window')
    .map((e) => JSON.parse(e.data) as WindowSnapshot)
    .filter((w) => w.start === start)
    .at(-1);
}
