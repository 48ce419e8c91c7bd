/**
 * The ioredis `Cluster` for Crema's stages: the same promises as a single connection (no offline
 * queue, no commands re-sent by the client after a reconnect), and patience through a failover.
 * `core/redis.ts` adds the scripts and the watch over outages, hangs and refusals.
 *
 * ioredis follows MOVED and ASK redirections and retries a command after a failover; every
 * script is compare-and-set or fenced (a replayed push finds the position moved, a replayed
 * commit finds its batch gone from the head of the processing list), so a retry never counts
 * anything twice.
 */
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions } from 'ioredis';

export interface ClusterTarget {
  /** Seed nodes (`redis://` or `rediss://`); each node is logged in to with the first seed's user and password. */
  readonly seeds: readonly string[];
  /** Shown in `CLIENT LIST` on every node. */
  readonly name: string;
  /** Every node's certificate must name the address the cluster announces for it (its IP, unless `cluster-announce-hostname` is set). */
  readonly tls?: ConnectionOptions;
  /** Extra options (tests use this for short timeouts). */
  readonly overrides?: ClusterOptions;
}

export function newCluster(target: ClusterTarget): Cluster {
  const urls = target.seeds.map((seed) => new URL(seed));
  const first = urls[0];
  if (!first) throw new Error('a Redis Cluster needs at least one seed node');
  return new Cluster(
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
      // The web server's live stream subscribes to every shard's channel on the master that holds it.
      shardedSubscribers: true,
      redisOptions: {
        connectionName: target.name,
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
        ...(target.tls && { tls: target.tls }),
        autoResendUnfulfilledCommands: false,
        disableClientInfo: true,
        maxRetriesPerRequest: 0,
        connectTimeout: 5000,
      },
      ...target.overrides,
    },
  );
}
