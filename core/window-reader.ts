/**
 * Reads windows for the web and the exporter: every shard's part, summed into one window
 * (`window-merge.ts`). One round trip per shard, all shards at once; with one shard this is one
 * pipeline of `HGETALL`s, as before shards.
 */
import type { RedisKeys } from './keys.js';
import type { RedisClient } from './scripts.js';
import { type ShardPart, mergeWindow } from './window-merge.js';
import { type WindowSnapshot, snapshotFromHash } from './window-snapshot.js';

export class WindowReader {
  constructor(
    private readonly redis: RedisClient,
    /** Every shard's keys, in shard order. */
    private readonly shards: readonly RedisKeys[],
  ) {}

  /**
   * The windows that start at `starts`, in that order, each summed over every shard; a window no
   * shard holds (expired, or never counted) is left out. `windowMs` sets each window's end.
   */
  async read(starts: readonly number[], windowMs: number): Promise<WindowSnapshot[]> {
    if (starts.length === 0) return [];
    const perShard = await Promise.all(this.shards.map((keys) => this.readShard(keys, starts, windowMs)));
    const windows: WindowSnapshot[] = [];
    starts.forEach((start, i) => {
      const merged = mergeWindow(start, windowMs, perShard.map((shard): ShardPart => ({ snapshot: shard.snapshots[i], closedThrough: shard.closedThrough })));
      if (merged) windows.push(merged);
    });
    return windows;
  }

  /**
   * Starts of the windows between `fromMs` and `toMs` (inclusive) in any shard, newest first, at
   * most `limit`.
   */
  async startsBetween(fromMs: number, toMs: number, limit: number): Promise<number[]> {
    const perShard = await Promise.all(
      this.shards.map((keys) => this.redis.zrange(keys.windows, score(toMs), score(fromMs), 'BYSCORE', 'REV', 'LIMIT', 0, limit)),
    );
    const starts = new Set(perShard.flat().map(Number));
    return [...starts].sort((a, b) => b - a).slice(0, limit);
  }

  /** Starts of windows not yet closed in any shard, oldest first, at most `limit` (the newest ones). */
  async openStarts(limit: number): Promise<number[]> {
    const perShard = await Promise.all(this.shards.map((keys) => this.redis.zrange(keys.open, String(-limit), '-1')));
    const starts = new Set(perShard.flat().map(Number));
    return [...starts].sort((a, b) => a - b).slice(-limit);
  }

  private async readShard(keys: RedisKeys, starts: readonly number[], windowMs: number): Promise<{ snapshots: (WindowSnapshot | undefined)[]; closedThrough: number }> {
    // One shard's keys share one slot: one pipeline serves them on Redis Cluster too.
    const pipeline = this.redis.pipeline();
    pipeline.get(keys.closedThrough);
    for (const start of starts) pipeline.hgetall(keys.window(start));
    const [closedReply, ...hashes] = (await pipeline.exec()) ?? [];
    const [closedError, closed] = closedReply ?? [null, null];
    if (closedError) throw closedError;
    const snapshots = hashes.map(([error, hash], i) => {
      if (error) throw error;
      const fields = hash as Record<string, string>;
      // A window past its retention may linger in the index until the ticker trims it.
      return Object.keys(fields).length > 0 ? snapshotFromHash(starts[i]!, windowMs, fields) : undefined;
    });
    return { snapshots, closedThrough: closed === null || closed === undefined ? Number.NEGATIVE_INFINITY : Number(closed) };
  }
}

/** A sorted-set score bound as Redis reads it (`-inf`/`+inf` for the infinities). */
function score(ms: number): string {
  if (ms === Number.NEGATIVE_INFINITY) return '-inf';
  if (ms === Number.POSITIVE_INFINITY) return '+inf';
  return String(ms);
}
