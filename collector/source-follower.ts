/**
 * Follows one path with `tail -F` semantics: the file now at the path, plus files rotated away
 * from it until they are drained. Rename rotation, deletion and re-creation are noticed by the
 * file's identity changing; copytruncate by the file shrinking below what was read.
 */
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RedisClient } from '../core/redis.js';
import type { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Scripts } from '../core/scripts.js';
import type { CatchUpLog } from './catch-up-log.js';
import { type Batch, FileTail } from './file-tail.js';
import { type FileIdentity, fileKey, identityOf, sameFile } from './file-identity.js';
import { type Position, formatPosition, parsePosition } from './position.js';
import { positionReplicated } from './stored-position.js';
import { isRotationOf } from './rotation-names.js';

/** How long a rotated-away file must stay quiet, once drained, before it is closed. */
export const ROTATED_LINGER_MS = 5000;

export interface FollowerOptions {
  readonly redis: RedisClient;
  readonly scripts: Scripts;
  readonly keys: RedisKeys;
  readonly host: string;
  readonly maxLineBytes: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Says when a file is far behind, how far while catching up, and when it has caught up. */
  readonly catchUp: CatchUpLog;
  /**
   * A position stored for the file elsewhere (another shard, before the shard count changed), for
   * a file its own shard does not know. @defaultValue none
   */
  readonly formerPosition?: (fileKey: string) => Promise<FormerPosition | undefined>;
}

/** A file's position found where an earlier shard count kept it. */
export interface FormerPosition {
  readonly position: string;
  /** The hash that held it. */
  readonly where: string;
  /** Deletes it there, once carried over: a later count that maps the file back must not find it stale. */
  forget(): Promise<unknown>;
}

export class SourceFollower {
  /** The file at the path, if any. */
  private current: FileTail | undefined;
  /** Files rotated away or deleted, read until drained and quiet. */
  private draining: FileTail[] = [];
  /** Birth time of the newest file followed at the path: files born after it and rotated away unseen are read too. */
  private newestFollowedBirth: number | undefined;

  constructor(
    /** The followed path (absolute). */
    readonly path: string,
    private readonly options: FollowerOptions,
  ) {}

  /** Every open file, rotated ones first so older lines go first. */
  tails(): readonly FileTail[] {
    return this.current ? [...this.draining, this.current] : this.draining;
  }

  /**
   * Opens the file at the path, resuming from its stored position (or, for a file never read,
   * from its beginning or end). Rotated siblings (`<name>.1`, `<name>-2026…`) are resumed when
   * they have unread lines under a stored position, and read from the start when they were born
   * after a file this collector followed (rotated while it was down).
   */
  async start(from: 'beginning' | 'end'): Promise<void> {
    this.newestFollowedBirth = await this.resumeRotatedSiblings();
    await this.openCurrent(from);
  }

  /**
   * Checks the path when every file has been read to its end; returns batches that must be
   * pushed (a truncation moves a stored position). Throws on Redis errors, changing nothing.
   */
  async check(now: number): Promise<Batch[]> {
    const batches: Batch[] = [];
    const atPath = await statOrUndefined(this.path);
    const current = this.current;
    if (current && (!atPath || !sameFile(identityOf(atPath), current.identity))) {
      this.options.log.info({ source: this.path, file: current.key }, atPath ? 'file rotated: draining the old file' : 'file removed: draining it');
      this.options.metrics.collector.rotations.inc({ source: this.path });
      this.draining.push(current);
      this.current = undefined;
    }
    if (!this.current && atPath?.isFile()) {
      await this.openCurrent('beginning');
    }
    else if (this.current && (await this.current.wasTruncated())) {
      this.options.log.warn({ source: this.path, file: this.current.key, committed: formatPosition(this.current.committed) }, 'file truncated: reading it again from its start');
      this.options.metrics.collector.truncations.inc({ source: this.path });
      batches.push(this.current.truncationBatch());
    }

    // Every look first, then every close: a look that throws closes nothing.
    const closing = new Set<FileTail>();
    for (const tail of this.draining) if (await this.mayClose(tail, now)) closing.add(tail);
    this.draining = this.draining.filter((tail) => !closing.has(tail));
    for (const tail of closing) {
      this.options.log.info({ source: this.path, file: tail.key, path: tail.path }, 'rotated file drained: closing it');
      this.options.catchUp.closed(tail.key);
      await tail.close();
    }

    let behind = 0;
    for (const tail of this.tails()) {
      const size = await tail.size();
      behind += Math.max(0, size - tail.committed.offset);
      this.options.catchUp.observe(tail, size);
    }
    this.options.metrics.collector.bytesBehind.set({ source: this.path }, behind);
    return batches;
  }

  /**
   * A rotated-away file is closed once every line of it was read and acknowledged, it has been
   * quiet for {@link ROTATED_LINGER_MS}, and its position is on every replica: nothing checks a
   * closed file's position again, so a push a failover undid afterwards would lose its lines.
   * Throws `position_lost` when Redis no longer holds the position as pushed.
   */
  private async mayClose(tail: FileTail, now: number): Promise<boolean> {
    if (!tail.caughtUp || now - tail.lastGrowthAt < ROTATED_LINGER_MS) return false;
    const pushed = formatPosition(tail.committed);
    const replicated = await positionReplicated(this.options.redis, { offsetsKey: this.options.keys.offsets, fileKey: tail.key, pushed, path: tail.path });
    if (!replicated) this.options.log.debug({ source: this.path, file: tail.key, path: tail.path }, 'rotated file drained: waiting for the replicas to hold its position before closing it');
    return replicated;
  }

  async close(): Promise<void> {
    const tails = this.tails();
    this.current = undefined;
    this.draining = [];
    for (const tail of tails) this.options.catchUp.closed(tail.key);
    await Promise.all(tails.map((tail) => tail.close()));
  }

  private async openCurrent(from: 'beginning' | 'end'): Promise<void> {
    const stats = await statOrUndefined(this.path);
    if (!stats?.isFile()) {
      this.options.log.info({ source: this.path }, 'waiting for the file to appear');
      return;
    }
    const identity = identityOf(stats);
    const initial: Position = { generation: 0, offset: from === 'end' ? stats.size : 0 };
    const key = fileKey(identity);
    const [known] = await this.options.redis.hmget(this.options.keys.offsets, key);
    // A file read under another shard count is resumed where it was, not read again or skipped.
    const former = known === null ? await this.options.formerPosition?.(key) : undefined;
    if (former) this.options.log.info({ source: this.path, file: key, position: former.position, from: former.where }, 'carried the read position over from where the previous shard count kept it');
    const stored = known ?? (await this.options.scripts.initPosition(key, former?.position ?? formatPosition(initial)));
    await former?.forget();
    const position = parsePosition(stored) ?? initial;
    const current = await this.openTail(this.path, identity, position, stats.size);
    if (!current) {
      // Rotated away and deleted between the look and the open: the next check opens what is there.
      this.options.log.info({ source: this.path, file: key }, 'the file at the path was replaced before it could be opened');
      return;
    }
    this.current = current;
    this.options.log.info({ source: this.path, file: current.key, position: formatPosition(current.committed) }, 'following file');
    this.options.catchUp.opened(current, position.offset, stats.size);
    // A new file at the path means a rename rotation; if the path was rotated more than once
    // since it was last looked at (or while the collector was down), files born in between
    // were rotated away unread.
    if (known === null && former === undefined && this.newestFollowedBirth !== undefined) {
      await this.adoptMissedRotations(this.newestFollowedBirth, identity.birthtimeMs);
    }
    this.newestFollowedBirth = Math.max(this.newestFollowedBirth ?? 0, identity.birthtimeMs);
  }

  /**
   * Opens every rotated sibling with unread lines under a stored position. Returns the birth time
   * of the newest file (sibling or the file at the path) that has a stored position, if any.
   */
  private async resumeRotatedSiblings(): Promise<number | undefined> {
    const candidates = await this.siblings(true);
    const stored = candidates.length > 0 ? await this.options.redis.hmget(this.options.keys.offsets, ...candidates.map((c) => c.key)) : [];
    let newest: number | undefined;
    for (const [i, sibling] of candidates.entries()) {
      const position = parsePosition(stored[i] ?? '');
      if (!position) continue;
      newest = Math.max(newest ?? 0, sibling.stats.birthtimeMs);
      if (sibling.path === this.path || position.offset >= sibling.stats.size) continue;
      const tail = await this.openTail(sibling.path, identityOf(sibling.stats), position, sibling.stats.size);
      if (!tail) continue; // deleted since it was listed
      this.options.log.info({ source: this.path, path: tail.path, file: tail.key, position: formatPosition(position) }, 'resuming a rotated file');
      this.options.catchUp.opened(tail, position.offset, sibling.stats.size);
      this.draining.push(tail);
    }
    return newest;
  }

  /**
   * Opens, from their start, rotated siblings born between `bornAfter` and `bornBefore`
   * that were never followed: files created at the path and rotated away before this collector
   * looked. Called only when the path was rotated by renaming, so copies made by copytruncate
   * (which leaves the followed file at the path) are never read twice.
   */
  private async adoptMissedRotations(bornAfter: number, bornBefore: number): Promise<void> {
    if (bornAfter === 0) return; // no birth times on this file system: nothing to order files by
    const open = new Set(this.tails().map((t) => t.key));
    const missed = (await this.siblings(false)).filter(
      // Inclusive: birth times tick coarsely (a few ms), so files made in one tick share one.
      (s) => s.stats.birthtimeMs >= bornAfter && s.stats.birthtimeMs <= bornBefore && !open.has(s.key),
    );
    for (const sibling of missed) {
      const stored = await this.options.scripts.initPosition(sibling.key, formatPosition({ generation: 0, offset: 0 }));
      const position = parsePosition(stored) ?? { generation: 0, offset: 0 };
      if (position.offset >= sibling.stats.size) continue;
      const tail = await this.openTail(sibling.path, identityOf(sibling.stats), position, sibling.stats.size);
      if (!tail) continue; // deleted since it was listed
      this.options.log.info({ source: this.path, path: tail.path, file: tail.key }, 'reading a file rotated before it was followed');
      this.options.catchUp.opened(tail, position.offset, sibling.stats.size);
      this.draining.push(tail);
    }
  }

  /** Regular files next to the path named as its rotations (see rotation-names.ts), oldest first. */
  private async siblings(includePath: boolean): Promise<{ path: string; stats: Stats; key: string }[]> {
    const directory = dirname(this.path);
    const name = basename(this.path);
    let entries: string[];
    try {
      entries = await readdir(directory);
    } catch {
      return [];
    }
    const found: { path: string; stats: Stats; key: string }[] = [];
    for (const entry of entries) {
      if (!(isRotationOf(name, entry) || (entry === name && includePath))) continue;
      const path = join(directory, entry);
      const stats = await statOrUndefined(path);
      if (stats?.isFile()) found.push({ path, stats, key: fileKey(identityOf(stats)) });
    }
    return found.sort((a, b) => a.stats.birthtimeMs - b.stats.birthtimeMs);
  }

  /**
   * Opens the file known by `identity`, found at `path` when it was looked at: there, or, when a
   * rotation has renamed it since, under the rotated name it has now. Undefined when it is gone.
   */
  private async openTail(path: string, identity: FileIdentity, position: Position, size: number): Promise<FileTail | undefined> {
    const options = { host: this.options.host, source: this.path, maxLineBytes: this.options.maxLineBytes };
    let tail = await FileTail.open(path, identity, position, options);
    // A rotation renames files one after the other; a file renamed again while it was searched
    // for is looked for again, a few times at most.
    for (let search = 0; !tail && search < 3; search++) {
      const moved = (await this.siblings(true)).find((s) => sameFile(identityOf(s.stats), identity));
      if (!moved) return undefined;
      tail = await FileTail.open(moved.path, identity, position, options);
    }
    if (!tail) return undefined;
    if (size < position.offset) {
      // Truncated while nobody was reading: moved to a new generation by the next check.
      this.options.log.warn({ source: this.path, file: tail.key }, 'file is shorter than its stored position: it was truncated');
    }
    return tail;
  }
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
