/** The test harness's local Redis Cluster: it forms, serves every slot, and fails over when a master is killed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { eventually } from '../support/eventually.js';
import { type LocalRedisCluster, startLocalRedisCluster } from '../support/redis-cluster.js';

describe('local Redis Cluster', () => {
  let cluster: LocalRedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startLocalRedisCluster();
    client = new Cluster(cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })), {
      redisOptions: { connectTimeout: 1000 },
      clusterRetryStrategy: () => 100,
    });
    client.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.dispose();
  });

  it('has three masters with a replica each, and takes writes in every slot', async () => {
    const lines = String(await client.call('CLUSTER', 'NODES')).trim().split('\n');
    expect(lines.filter((l) => / master /.test(l) || /,master /.test(l))).toHaveLength(3);
    expect(lines.filter((l) => /slave /.test(l))).toHaveLength(3);
    expect(client.nodes('master')).toHaveLength(3);
    for (let i = 0; i < 30; i++) await client.set(`{t${i}}:k`, String(i));
    expect(await client.get('{t29}:k')).toBe('29');
  });

  it('promotes the replica of a killed master within seconds, and keeps what was replicated', async () => {
    await client.set('{failover}:before', 'kept');
    const { killed, promoted, failoverMs } = await cluster.killMasterOf('{failover}:before', { replicated: true });
    expect(promoted.port).not.toBe(killed.port);
    expect(failoverMs).toBeGreaterThan(0);
    expect(failoverMs).toBeLessThan(20_000);
    await eventually(async () => (await client.get('{failover}:before').catch(() => null)) === 'kept', { timeoutMs: 15_000, message: 'the promoted replica did not serve the key' });
    await client.set('{failover}:after', 'written');
    expect(await client.get('{failover}:after')).toBe('written');
    await cluster.restart(killed);
  });
});
