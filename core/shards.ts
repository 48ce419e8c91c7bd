/**
 * Shards: the unit of placement on Redis Cluster. A shard is a key prefix with a hash tag, so that
 * every key of the shard (its queue, claims, leases, file positions, windows, indexes and change
 * stream) lands in one slot and one script can touch any of them. Pure functions, no I/O.
 *
 * One shard on one Redis keeps the plain prefix (`coffee:orders`), so a single-Redis deployment
 * keeps its keys; with more shards, or on a cluster, shard `i` is `{coffee:i}:` (`{coffee:0}:orders`).
 */

import { RedisKeys } from './keys.js';

/** The key prefix of shard `shard` of `shards` under `prefix`. */
export function shardPrefix(prefix: string, shard: number, shards: number, cluster: boolean): string {
  if (!Number.isSafeInteger(shard) || shard < 0 || shard >= shards) throw new RangeError(`shard ${shard} is not one of 0…${shards - 1}`);
  if (shards === 1 && !cluster) return prefix;
  // The prefix's own braces would end the tag early; Crema's prefixes have none (the setting refuses them).
  return `{${prefix}${shard}}:`;
}

/**
 * The shard a followed file belongs to: by its host and path, so that every collector maps a file to
 * the same shard and a file's lines stay in one queue, in order. 32-bit FNV-1a over the UTF-8 bytes
 * of `host \n path`: stable across processes, versions and languages.
 */
export function shardOfFile(host: string, path: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${host}\n${path}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** Every shard number, in order. */
export function allShards(shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => i);
}

/**
 * Where a prefix's data lives: every shard's keys, and whether the shards use Redis 7's sharded
 * pub/sub (`SPUBLISH`/`SSUBSCRIBE`, served by the node that holds the shard) for their change
 * channel. One shard on one Redis keeps the plain prefix and plain pub/sub, as before shards.
 */
export interface ShardLayout {
  /** Every shard's keys, in shard order. */
  readonly shards: readonly RedisKeys[];
  readonly shardedPubSub: boolean;
}

export function shardLayout(prefix: string, shards: number, cluster: boolean): ShardLayout {
  return {
    shards: allShards(shards).map((shard) => new RedisKeys(shardPrefix(prefix, shard, shards, cluster))),
    shardedPubSub: shards > 1 || cluster,
  };
}
