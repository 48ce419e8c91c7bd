/**
 * A Redis Cluster connection with the same promises as `createRedis`: no offline queue, no
 * commands re-sent by the client after a reconnect, Crema's scripts registered. ioredis's cluster
 * client follows MOVED and ASK redirections and retries a command after a failover; every script
 * is compare-and-set or fenced (a replayed push finds the position moved, a replayed commit finds
 * its batch gone from the head of the processing list), so a retry never counts anything twice.
 */
import { Cluster } from 'ioredis';
import type { Logger } from './log.js';
import { defineScripts } from './scripts.js';

export interface ClusterConnectionOptions {
  /** Shown in `CLIENT LIST` on every node. */
  readonly name: string;
  readonly log?: Logger;
}

/** Opens a cluster client from seed URLs (`redis://` or `rediss://`, with the password of the first). */
export function createRedisCluster(seeds: readonly string[], options: ClusterConnectionOptions): Cluster {
  const urls = seeds.map((seed) => new URL(seed));
  const first = urls[0];
  if (!first) throw new Error('a Redis Cluster needs at least one seed node');
  const cluster = new Cluster(
    urls.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 10), 2000),
      // A failover takes a few seconds (cluster-node-timeout plus the election): wait it out per command.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 100,
      maxRedirections: 32,
      redisOptions: {
        connectionName: options.name,
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
        tls: first.protocol === 'rediss:' ? {} : undefined,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 5000,
      },
    },
  );
  defineScripts(cluster);
  let down = false;
  cluster.on('ready', () => {
    if (down) options.log?.info({ connection: options.name }, 'redis cluster reachable again');
    down = false;
  });
  cluster.on('error', (error: Error) => {
    if (!down) options.log?.warn({ connection: options.name, err: error.message }, 'redis cluster unreachable; retrying with backoff');
    down = true;
  });
  return cluster;
}
