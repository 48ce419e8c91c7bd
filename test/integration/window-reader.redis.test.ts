/** Windows read over several shards (prefixes of one Redis here, slots of a cluster in production): exact sums, finality by watermark. */
import { beforeEach, expect, it } from 'vitest';
import { RedisKeys } from '../../core/keys.js';
import { Scripts } from '../../core/scripts.js';
import { allShards, shardPrefix } from '../../core/shards.js';
import { WindowReader } from '../../core/window-reader.js';
import type { Logger } from '../../core/log.js';
import { createMetrics } from '../../core/metrics.js';
import { MergedWindowLog } from '../../processor/window-log.js';
import { WindowTicker } from '../../processor/window-ticker.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';

const W = 10_000;
const RULES = { windowMs: W, graceMs: W, retentionMs: 86_400_000 };
const env = useTestEnvironment();
let shards: RedisKeys[];
let scripts: Scripts[];
let reader: WindowReader;

beforeEach(async () => {
  shards = allShards(3).map((i) => new RedisKeys(shardPrefix(env.redis.prefix, i, 3, false)));
  const redis = await env.redis.connected();
  scripts = shards.map((keys) => new Scripts(redis, keys));
  reader = new WindowReader(redis, shards);
  env.onCleanup(async () => {
    const keys = (await env.redis.client.keys(`{${env.redis.prefix}*`));
    if (keys.length > 0) await env.redis.client.unlink(...keys);
  });
});

/** Counts `orders` orders of `coffee` into shard `shard`'s window, through a real claim and commit. */
async function count(shard: number, start: number, orders: number, coffee = 'Espresso'): Promise<void> {
  const lease = { consumer: 'p', token: `t${shard}`, leaseMs: 10_000 };
  await scripts[shard]!.acquireLease(lease);
  await env.redis.client.rpush(shards[shard]!.queue, ...Array.from({ length: orders }, (_, i) => `e${start}-${i}-${Math.random()}`));
  const claimed = await scripts[shard]!.claimBatch(lease, 'next', orders);
  const fields = new Map([['orders', orders], ['drinks', orders], [`coffee:${coffee}`, orders], ['payment:Cash', orders], ['age:1020', orders]]);
  await scripts[shard]!.commitBatch(lease, { envelopes: claimed, dead: [], windows: new Map([[start, { orders, fields }]]) }, RULES);
}

const tick = (shard: number, now: number) => scripts[shard]!.tick(now, RULES);

it('sums a window over the shards that counted in it, and lists the windows of every shard', async () => {
  const now = Math.floor(Date.now() / W) * W;
  const [a, b] = [now - 5 * W, now - 4 * W];
  await count(0, a, 3);
  await count(2, a, 4, 'Flat White');
  await count(1, b, 5);
  expect(await reader.startsBetween(a - W, now, 10)).toEqual([b, a]);
  expect(await reader.startsBetween(a - W, now, 1)).toEqual([b]);
  const [first, second] = await reader.read([a, b], W);
  expect(first).toMatchObject({ start: a, end: a + W, orders: 7, drinks: 7, coffee: { Espresso: 3, 'Flat White': 4 }, payment: { Cash: 7 }, final: false });
  expect(second).toMatchObject({ start: b, orders: 5, final: false });
  expect(await reader.openStarts(10)).toEqual([a, b]);
});

it('makes a window final only when every shard, counted in it or not, has closed it', async () => {
  const now = Math.floor(Date.now() / W) * W;
  const start = now - 5 * W;
  await count(0, start, 2);
  await count(1, start, 3);
  // Shards 0 and 1 close the window; shard 2, which never had it, has not ticked yet.
  await tick(0, now);
  await tick(1, now);
  expect((await reader.read([start], W))[0]).toMatchObject({ orders: 5, final: false });
  await tick(2, now);
  expect(await env.redis.client.get(shards[2]!.closedThrough)).toBe(String(now - 2 * W));
  expect((await reader.read([start], W))[0]).toMatchObject({ orders: 5, final: true });
  // A tick with a clock that stepped back does not move the watermark back.
  await tick(2, now - 10 * W);
  expect(await env.redis.client.get(shards[2]!.closedThrough)).toBe(String(now - 2 * W));
});

it('with one shard, reads the plain prefix exactly as before shards', async () => {
  const single = new WindowReader(env.redis.client, [env.redis.keys]);
  expect(shardPrefix(env.redis.prefix, 0, 1, false)).toBe(env.redis.prefix);
  const start = Math.floor(Date.now() / W) * W - 3 * W;
  await env.redis.client.hset(env.redis.keys.window(start), { orders: '2', drinks: '3', final: '1', 'coffee:Espresso': '3' });
  await env.redis.client.zadd(env.redis.keys.windows, start, String(start));
  expect(await single.read([start, start + W], W)).toEqual([
    { start, end: start + W, final: true, orders: 2, drinks: 3, late: 0, age: {}, payment: {}, coffee: { Espresso: 3 } },
  ]);
});

it('logs a window closed once every shard has closed it, with the counts summed over the shards', async () => {
  const now = Math.floor(Date.now() / W) * W;
  const start = now - 5 * W;
  await count(0, start, 2);
  await count(1, start, 3);
  const logged: Record<string, unknown>[] = [];
  const log = { info: (fields: Record<string, unknown>, msg: string) => logged.push({ ...fields, msg }), debug: () => {} } as unknown as Logger;
  const merged = new MergedWindowLog(reader, W, log);
  const redis = await env.redis.connected();
  const tickers = shards.map(
    (keys, shard) =>
      new WindowTicker({ redis, scripts: scripts[shard]!, keys, ...RULES, tickMs: 1000, logFinal: merged.logFinal, log, metrics: createMetrics('test-host') }),
  );
  // Shards 0 and 1 close their parts; shard 2 never had the window and has not ticked.
  await tickers[0]!.tick(now);
  await tickers[1]!.tick(now);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(logged).toEqual([]);
  // Shard 2 closes the window by its watermark alone; the next tick of a shard that had a part logs it.
  await tickers[2]!.tick(now);
  await tickers[0]!.tick(now);
  await eventually(() => logged.length > 0, { message: 'the merged window was never logged' });
  expect(logged).toEqual([expect.objectContaining({ msg: 'window closed', window: new Date(start).toISOString(), orders: 5 })]);
  // Once: later ticks log nothing more; a late order revises it, logged with the new sum.
  await tickers[1]!.tick(now);
  await count(1, start, 1);
  await tickers[1]!.tick(now);
  await eventually(() => logged.length > 1, { message: 'the revision was never logged' });
  expect(logged.slice(1)).toEqual([expect.objectContaining({ msg: 'window revised', orders: 6, late: 1 })]);
});
