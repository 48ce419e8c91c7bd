/**
 * Keeps the `offsets` hash bounded. Every file a collector ever followed leaves its read position
 * there; without pruning the hash grows by one field per rotated file, forever.
 *
 * A companion sorted set (`offsets:seen`, file key → last seen, ms) records when a collector last
 * saw each file: open, or present at a followed path or under one of its rotation names. Every
 * collector refreshes it for its own files at start and then periodically, and deletes the
 * positions of files nobody has seen for longer than the retention. A position without a seen
 * entry (stored before this bookkeeping existed) starts its retention when first found.
 *
 * Safe by construction:
 * - a file that is open or still on disk was refreshed in the same run, just before the expired
 *   entries are read, so its position is never deleted here;
 * - every running collector refreshes its files far more often than the retention, so a file
 *   another collector follows is never expired either; and the deletion runs under `WATCH` of the
 *   seen set, so a refresh that races with it cancels it (it is retried at the next run).
 * What it cannot know: a collector on another host stopped for longer than the retention, whose
 *   files are still on its disk. When it starts again, those files have no stored position.
 */
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RedisClient } from '../core/redis.js';
import type { RedisKeys } from '../core/keys.js';
import { fileKey, identityOf } from './file-identity.js';
import { isRotationOf } from './rotation-names.js';

/** Entries read, refreshed or deleted per round trip. */
const CHUNK = 1000;

export interface OffsetPrunerOptions {
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  /** The followed paths (absolute). */
  readonly paths: () => readonly string[];
  /** Keys of the files open right now: followed, or rotated away and still being drained. */
  readonly openFiles: () => Iterable<string>;
  /** How long after it was last seen a file's position is deleted (ms). */
  readonly retentionMs: number;
}

export interface PruneResult {
  /** Files refreshed as seen now. */
  readonly seen: number;
  /** Positions deleted. */
  readonly pruned: number;
}

export class OffsetPruner {
  constructor(private readonly options: OffsetPrunerOptions) {}

  /** One run: refreshes the files that exist or are open, then deletes expired positions. */
  async run(now: number = Date.now()): Promise<PruneResult> {
    const present = await this.presentFiles();
    await this.markSeen(present, now);
    await this.adoptUntracked(now);
    const pruned = await this.deleteExpired(now - this.options.retentionMs, present);
    return { seen: present.size, pruned };
  }

  /** Keys of the open files and of the files at every followed path and its rotation names. */
  private async presentFiles(): Promise<Set<string>> {
    const keys = new Set(this.options.openFiles());
    for (const path of this.options.paths()) {
      const name = basename(path);
      let entries: string[];
      try {
        entries = await readdir(dirname(path));
      } catch {
        continue; // the directory does not exist (yet): nothing of it is present
      }
      for (const entry of entries) {
        if (entry !== name && !isRotationOf(name, entry)) continue;
        const stats = await statOrUndefined(join(dirname(path), entry));
        if (stats?.isFile()) keys.add(fileKey(identityOf(stats)));
      }
    }
    return keys;
  }

  private async markSeen(keys: ReadonlySet<string>, now: number): Promise<void> {
    const all = [...keys];
    for (let i = 0; i < all.length; i += CHUNK) {
      const args = all.slice(i, i + CHUNK).flatMap((key) => [now, key]);
      // GT: a clock behind another collector's never moves a file's last sighting back.
      await this.options.redis.zadd(this.options.keys.offsetsSeen, 'GT', ...args);
    }
  }

  /** Gives every stored position without a seen entry one, as of now. */
  private async adoptUntracked(now: number): Promise<void> {
    const { redis, keys } = this.options;
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(keys.offsets, cursor, 'COUNT', CHUNK);
      cursor = next;
      const fields = flat.filter((_, i) => i % 2 === 0);
      if (fields.length > 0) await redis.zadd(keys.offsetsSeen, 'NX', ...fields.flatMap((field) => [now, field]));
    } while (cursor !== '0');
  }

  /** Deletes the positions (and seen entries) of files last seen before `before`; returns how many. */
  private async deleteExpired(before: number, present: ReadonlySet<string>): Promise<number> {
    const { redis, keys } = this.options;
    let deleted = 0;
    for (;;) {
      await redis.watch(keys.offsetsSeen);
      let expired: string[];
      try {
        expired = (await redis.zrangebyscore(keys.offsetsSeen, '-inf', `(${before}`, 'LIMIT', 0, CHUNK)).filter((key) => !present.has(key));
      } catch (error) {
        await redis.unwatch().catch(() => {});
        throw error;
      }
      if (expired.length === 0) {
        await redis.unwatch();
        return deleted;
      }
      const result = await redis.multi().hdel(keys.offsets, ...expired).zrem(keys.offsetsSeen, ...expired).exec();
      // null: the seen set changed since WATCH (a collector refreshed a file); the next run retries.
      if (result === null) return deleted;
      for (const [error] of result) if (error) throw error;
      deleted += expired.length;
      if (expired.length < CHUNK) return deleted;
    }
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined; // gone between readdir and stat, or unreadable: not present
  }
}
