/**
 * A Redis Cluster that speaks TLS only (to clients, between nodes, to replicas): a collector and a
 * processor given `rediss://` seeds and the CA count every order once on 3 shards; given another
 * CA, a stage stops at once with one line naming CREMA_REDIS_TLS_CA_FILE (exit code 2).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectRedis, createRedisCluster } from '../../core/redis.js';
import { shardLayout } from '../../core/shards.js';
import { WindowReader } from '../../core/window-reader.js';
import { windowStart } from '../../core/windows.js';
import { makeCa } from '../support/certificates.js';
import { CremaProcess, runCrema } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type LocalRedisCluster, startLocalRedisCluster } from '../support/redis-cluster.js';

const certs = tempDir();
const pem = (name: string) => certs.file(name);
let cluster: LocalRedisCluster;
beforeAll(async () => {
  // The cluster announces its nodes by address: their certificate names 127.0.0.1.
  makeCa(certs.path, 'crema', ['server'], 'DNS:localhost,IP:127.0.0.1');
  makeCa(certs.path, 'other', []);
  cluster = await startLocalRedisCluster({ tls: { cert: pem('server.crt'), key: pem('server.key'), ca: pem('crema-ca.crt') } });
}, 90_000);
afterAll(async () => {
  await cluster?.dispose();
  certs.remove();
});
const env = useTestEnvironment();

it('counts every order once on a TLS cluster with 3 shards', async () => {
  const W = 1000;
  const lines = orderLines(3000, { seed: 8, firstStart: windowStart(Date.now(), W) - 20 * W, windows: 10, windowMs: W });
  const file = env.dir.file('orders.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const prefix = env.redis.prefix;
  const common = ['--redis-cluster-url', cluster.urls.join(','), '--prefix', prefix, '--shards', '3'];
  const tls = { CREMA_REDIS_TLS_CA_FILE: pem('crema-ca.crt') };
  const collector = new CremaProcess('collect', [...common, '--file', file], tls);
  const processor = new CremaProcess('process', [...common, '--window-seconds', '1', '--grace-seconds', '1', '--tick-ms', '200'], tls);
  env.onCleanup(() => Promise.all([collector.terminate(), processor.terminate()]));

  const ca = { path: pem('crema-ca.crt'), pem: readFileSync(pem('crema-ca.crt')) };
  const client = createRedisCluster({ redisUrl: cluster.urls[0]!, redisClusterUrls: [...cluster.urls], redisTlsCa: ca }, { name: 'test-tls-reader' });
  env.onCleanup(() => client.disconnect());
  await connectRedis(client);
  const reader = new WindowReader(client, shardLayout(prefix, 3, true).shards);
  const truth = expectedWindows(lines, W);
  const starts = [...truth.keys()].sort((a, b) => a - b);
  const total = async () => (await reader.read(starts, W)).reduce((sum, w) => sum + w.orders, 0);
  await eventually(async () => (await total()) === lines.length, {
    timeoutMs: 30_000,
    message: async () => `${await total()} of ${lines.length} counted; logs:\n${collector.logs.slice(-1500)}\n${processor.logs.slice(-1500)}`,
  });
  for (const w of await reader.read(starts, W)) {
    const counts: Record<string, string> = { orders: String(w.orders), drinks: String(w.drinks) };
    for (const [group, values] of [['age', w.age], ['payment', w.payment], ['coffee', w.coffee]] as const) {
      for (const [name, n] of Object.entries(values)) if (n > 0) counts[`${group}:${name}`] = String(n);
    }
    expect(counts, `window ${new Date(w.start).toISOString()}`).toEqual(expectedHash(truth.get(w.start)!));
  }
  const exits = await Promise.all([collector.terminate(), processor.terminate()]);
  expect(exits.map((e) => e.code)).toEqual([0, 0]);
}, 60_000);

it('stops with one line naming CREMA_REDIS_TLS_CA_FILE when the cluster\'s certificates are not signed by the CA given', async () => {
  const run = await runCrema(['process', '--redis-cluster-url', cluster.urls.join(','), '--prefix', env.redis.prefix, '--shards', '3'], {
    CREMA_REDIS_TLS_CA_FILE: pem('other-ca.crt'),
  });
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toContain(`CREMA_REDIS_TLS_CA_FILE (--redis-tls-ca-file) is ${pem('other-ca.crt')}`);
}, 30_000);
