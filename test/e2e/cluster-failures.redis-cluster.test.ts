/**
 * `crema up` in one process on a Redis Cluster, and what a cluster can do to Crema besides losing a
 * master: refuse the login (one line naming REDIS_CLUSTER_URLS, exit code 2), and stop answering
 * for a shard whose master and replica both hang (no failover possible): `/healthz` fails within
 * seconds and passes again when they answer.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CremaProcess, runCrema } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { type LocalRedisCluster, startLocalRedisCluster } from '../support/redis-cluster.js';
import { freePort } from '../support/servers.js';

let cluster: LocalRedisCluster;
beforeAll(async () => {
  cluster = await startLocalRedisCluster();
}, 60_000);
afterAll(() => cluster?.dispose());
const env = useTestEnvironment();

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

it('runs crema up in one process on 3 shards: every generated order counted once, summed in the API', async () => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const count = 3000;
  const up = new CremaProcess('up', [
    ...['--redis-cluster-url', cluster.urls.join(','), '--prefix', `${env.redis.prefix}up:`, '--shards', '3', '--file', env.dir.file('orders.jsonl')],
    ...['--count', String(count), '--rate', '2000', '--web-port', String(port), '--metrics-port', String(metricsPort), '--window-seconds', '1', '--tick-ms', '200'],
  ]);
  env.onCleanup(() => up.terminate());
  const counted = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/windows?limit=1000`).catch(() => undefined);
    if (response?.status !== 200) return -1;
    const { windows } = (await response.json()) as { windows: { orders: number }[] };
    return windows.reduce((sum, w) => sum + w.orders, 0);
  };
  await eventually(async () => (await counted()) === count, { timeoutMs: 30_000, message: async () => `counted ${await counted()} of ${count}; logs:\n${up.logs.slice(-2000)}` });
  // The one file went to one shard; every shard got a processing loop, and closed windows are logged summed.
  expect(up.logLines('lease taken: processing').length).toBe(3);
  await eventually(() => up.logLines('window closed').length > 0, { message: 'no window closed was logged' });
  expect((await up.terminate()).code).toBe(0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await counted()).toBe(-1);
}, 60_000);

it('stops with one line naming REDIS_CLUSTER_URLS when the cluster refuses the login', async () => {
  const seeds = cluster.urls.map((url) => url.replace('redis://', 'redis://crema-processor:wrong-password@'));
  const run = await runCrema(['process', '--redis-cluster-url', seeds.join(','), '--prefix', env.redis.prefix, '--shards', '3']);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toContain('REDIS_CLUSTER_URLS (--redis-cluster-url)');
  expect(run.stderr).toContain('refused to log in user "crema-processor"');
  expect(run.stderr).not.toContain('wrong-password');
}, 30_000);

it('fails /healthz while a shard can answer nowhere, and passes again when it can', async () => {
  const port = await freePort();
  const serve = new CremaProcess('serve', ['--redis-cluster-url', cluster.urls.join(','), '--prefix', env.redis.prefix, '--shards', '3', '--web-port', String(port)]);
  env.onCleanup(() => serve.terminate());
  const health = `http://127.0.0.1:${port}/healthz`;
  await eventually(async () => (await status(health)) === 200, { timeoutMs: 20_000, message: () => `never healthy; logs:\n${serve.logs.slice(-2000)}` });

  // A master and its replica both stopped: no failover can serve the slot.
  const { master, replica } = await cluster.topologyOf(`{${env.redis.prefix}1}:orders`);
  cluster.signal(master, 'SIGSTOP');
  cluster.signal(replica, 'SIGSTOP');
  try {
    await eventually(() => serve.logLines('redis not answering').length > 0, { timeoutMs: 15_000, message: 'a hung shard was not noticed' });
    expect(await status(health)).toBe(503);
  } finally {
    cluster.signal(replica, 'SIGCONT');
    cluster.signal(master, 'SIGCONT');
  }
  await eventually(async () => (await status(health)) === 200, { timeoutMs: 30_000, message: () => `not healthy again; logs:\n${serve.logs.slice(-2000)}` });
  expect(serve.logLines('redis answering again').length).toBeGreaterThan(0);
  expect((await serve.terminate()).code).toBe(0);
}, 90_000);
