/**
 * The collector: reads whole lines from the followed files and pushes them to the queue in
 * batches. Each batch moves its file's stored read position in the same atomic step
 * (compare-and-set), so after any crash reading resumes exactly after the last pushed line.
 *
 * Batches are pipelined (several in flight on one connection, answered in order). On any
 * failure the collector waits for what is in flight, reloads every position from Redis and
 * reads again from there: memory stays bounded and nothing is skipped or pushed twice.
 *
 * With several shards, each followed path (and every file rotated away from it) belongs to one
 * shard: its lines go to that shard's queue and its position is kept in that shard, so a push
 * touches one slot of a Redis Cluster. Reading pauses while any shard's queue is over its bound.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Backoff, sleep } from '../core/backoff.js';
import { CremaError, OffsetConflictError, errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { type RedisClient, connectRedis } from '../core/redis.js';
import { Scripts } from '../core/scripts.js';
import { shardOfFile } from '../core/shards.js';
import { CatchUpLog } from './catch-up-log.js';
import type { Batch, FileTail } from './file-tail.js';
import { OffsetPruner } from './offset-pruning.js';
import { formatPosition, parsePosition } from './position.js';
import { type FormerPosition, SourceFollower } from './source-follower.js';
import { checkStoredPosition } from './stored-position.js';

export interface CollectorOptions {
  readonly redis: RedisClient;
  /** Every shard's keys, in shard order (`core/shards.ts`). */
  readonly shards: readonly RedisKeys[];
  /** The shard of a followed path (absolute). @defaultValue by host and path ({@link shardOfFile}) */
  readonly shardOf?: (path: string) => number;
  /**
   * Keys that may hold positions from before the shard count changed, besides the other shards:
   * the prefix's own, when one shard on one Redis becomes several. @defaultValue none
   */
  readonly formerShards?: readonly RedisKeys[];
  readonly files: readonly string[];
  readonly host: string;
  readonly from: 'beginning' | 'end';
  readonly maxLineBytes: number;
  /** Most lines per push. */
  readonly batchLines: number;
  /** Queue length (of any shard) above which reading pauses. */
  readonly queueMax: number;
  readonly pollMs: number;
  /**
   * How long the read position of a file that is gone (neither open nor at a followed path or
   * one of its rotation names) is kept. @defaultValue 7 days
   */
  readonly retentionMs?: number;
  /** How often positions of gone files are pruned. @defaultValue a tenth of the retention, at most an hour */
  readonly pruneEveryMs?: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Pushes in flight at once; enough to keep both Redis and the reader busy. */
const MAX_IN_FLIGHT = 4;
/** Batches read from one file before the next file gets a turn. */
const BATCHES_PER_TURN = 16;
/** Reading resumes once the queue is below this share of its bound. */
const RESUME_BELOW = 0.9;
const DEFAULT_RETENTION_MS = 7 * 86_400_000;

/** One shard as the collector uses it. */
interface Shard {
  readonly index: number;
  readonly keys: RedisKeys;
  readonly scripts: Scripts;
  readonly followers: SourceFollower[];
  readonly pruner: OffsetPruner;
  /** The queue's length as the last push or check saw it. */
  queueLength: number;
}

export class Collector {
  private readonly followers: SourceFollower[] = [];
  private readonly shards: Shard[];
  private readonly shardOfFollower = new Map<SourceFollower, Shard>();
  private readonly stopping = new AbortController();
  private readonly inFlight: Promise<void>[] = [];
  private readonly watchers: FSWatcher[] = [];
  private wake: (() => void) | undefined;
  private failure: unknown;
  private checkedAt = 0;
  private checks = 0;
  private readonly pruneEveryMs: number;
  private pruneAt = 0;
  private running: Promise<void> | undefined;

  constructor(private readonly options: CollectorOptions) {
    const catchUp = new CatchUpLog(options.log);
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    const shardOf = options.shardOf ?? ((path: string) => shardOfFile(options.host, path, options.shards.length));
    this.shards = options.shards.map((keys, index) => {
      const followers: SourceFollower[] = [];
      return {
        index,
        keys,
        scripts: new Scripts(options.redis, keys),
        followers,
        pruner: new OffsetPruner({
          redis: options.redis,
          keys,
          paths: () => followers.map((f) => f.path),
          openFiles: () => followers.flatMap((f) => f.tails().map((t) => t.key)),
          retentionMs,
        }),
        queueLength: 0,
      };
    });
    for (const file of options.files) {
      const path = resolve(file);
      const shard = this.shards[shardOf(path)];
      if (!shard) throw new RangeError(`shard ${shardOf(path)} of ${path} is not one of 0…${this.shards.length - 1}`);
      const follower = new SourceFollower(path, {
        redis: options.redis,
        scripts: shard.scripts,
        keys: shard.keys,
        host: options.host,
        maxLineBytes: options.maxLineBytes,
        log: this.shards.length > 1 ? options.log.child({ shard: shard.index }) : options.log,
        metrics: options.metrics,
        catchUp,
        formerPosition: (key) => this.formerPosition(key, shard),
      });
      this.followers.push(follower);
      shard.followers.push(follower);
      this.shardOfFollower.set(follower, shard);
    }
    this.pruneEveryMs = options.pruneEveryMs ?? Math.min(retentionMs / 10, 3_600_000);
  }

  /** Runs until closed. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops reading, waits for the pushes in flight, closes the files. Idempotent. */
  readonly close = once(async () => {
    this.stopping.abort();
    this.wake?.();
    await this.running?.catch(() => {});
    for (const watcher of this.watchers) watcher.close();
  });

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /**
   * What is left to do now: bytes of the followed files not yet pushed and acknowledged (a
   * partial last line counts until its newline comes), pushes in flight, and how many times the
   * paths were checked for rotation and truncation. Both 0, after a check, means every line of
   * every file the collector knows is in the queue, once.
   */
  async backlog(): Promise<{ bytesBehind: number; pushesInFlight: number; checks: number }> {
    let bytesBehind = 0;
    for (const follower of this.followers) {
      for (const tail of follower.tails()) {
        // A drained rotated file may close while this looks at it: nothing is left in it.
        const size = await tail.size().catch(() => tail.committed.offset);
        bytesBehind += Math.max(0, size - tail.committed.offset);
      }
    }
    return { bytesBehind, pushesInFlight: this.inFlight.length, checks: this.checks };
  }

  /**
   * The position of a file stored in another shard than `shard`: the shard count changed since
   * the file was last read (docs/scaling.md, "Changing the shard count").
   */
  private async formerPosition(key: string, shard: Shard): Promise<FormerPosition | undefined> {
    const { redis } = this.options;
    const elsewhere = [...this.shards.filter((s) => s !== shard).map((s) => s.keys), ...(this.options.formerShards ?? [])];
    for (const keys of elsewhere) {
      const [position] = await redis.hmget(keys.offsets, key);
      if (position !== null && position !== undefined && parsePosition(position)) {
        return { position, where: keys.offsets, forget: () => redis.hdel(keys.offsets, key) };
      }
    }
    return undefined;
  }

  /** The longest queue of the shards, which holds reading back. */
  private get queueLength(): number {
    let longest = 0;
    for (const shard of this.shards) longest = Math.max(longest, shard.queueLength);
    return longest;
  }

  private async run(): Promise<void> {
    try {
      await this.startFollowers();
      while (!this.stopped) {
        if (this.failure !== undefined) {
          await this.recover();
          continue;
        }
        if (this.queueLength > this.options.queueMax) {
          await this.waitForQueueToDrain();
          continue;
        }
        const pushed = await this.readRound();
        if (this.failure !== undefined) continue;
        // Paths are checked when idle, and at least every poll interval while busy, so that a
        // truncation is seen before the file grows back past the old offset.
        if (pushed && Date.now() - this.checkedAt < this.options.pollMs) continue;
        await this.settle();
        if (this.failure !== undefined) continue;
        await this.verifyPositions();
        if (this.failure !== undefined) continue;
        this.checkedAt = Date.now();
        if (this.checkedAt >= this.pruneAt) await this.pruneOffsets();
        const changed = await this.checkFiles();
        this.checks++;
        if (changed || pushed) continue;
        await this.waitForChange();
      }
      await this.settle();
    } finally {
      await Promise.all(this.followers.map((f) => f.close()));
    }
  }

  /** Reads and pushes a share of each file; returns whether anything was pushed. */
  private async readRound(): Promise<boolean> {
    let pushed = false;
    for (const follower of this.followers) {
      for (const tail of follower.tails()) {
        for (let turn = 0; turn < BATCHES_PER_TURN; turn++) {
          if (this.stopped || this.failure !== undefined || this.queueLength > this.options.queueMax) return pushed;
          const batch = await tail.nextBatch(this.options.batchLines, Date.now());
          if (!batch) break;
          await this.push(batch, this.shardOfFollower.get(follower)!);
          pushed = true;
        }
      }
    }
    return pushed;
  }

  /** Sends a batch; waits only when too many are in flight. */
  private async push(batch: Batch, shard: Shard): Promise<void> {
    const { metrics } = this.options;
    const source = batch.tail.source;
    const sent = shard.scripts
      .pushBatch({ fileKey: batch.tail.key, expected: batch.expected, next: batch.next, envelopes: batch.envelopes })
      .then((queueLength) => {
        batch.tail.acknowledge(batch);
        batch.release();
        shard.queueLength = queueLength;
        metrics.collector.queueLength.set(this.queueLength);
        metrics.collector.lines.inc({ source }, batch.count);
        metrics.collector.bytes.inc({ source }, batch.bytes);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      });
    this.inFlight.push(sent);
    if (this.inFlight.length >= MAX_IN_FLIGHT) await this.inFlight.shift();
  }

  private async settle(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /**
   * Checks that Redis holds every open file's position as this collector last pushed it. A push
   * Redis acknowledged can still be undone: a failover to a replica that had not received it.
   * The next push would find out (its expected position would not match), but a file that has no
   * next push (idle, or drained) would keep its lines out of the queue: reloading the positions
   * pushes them again.
   */
  private async verifyPositions(): Promise<void> {
    try {
      for (const shard of this.shards) {
        const tails: FileTail[] = shard.followers.flatMap((f) => [...f.tails()]);
        if (tails.length === 0) continue;
        const stored = await this.options.redis.hmget(shard.keys.offsets, ...tails.map((t) => t.key));
        tails.forEach((tail, i) => checkStoredPosition(stored[i], { fileKey: tail.key, path: tail.path, pushed: formatPosition(tail.committed) }));
      }
    } catch (error) {
      this.failure ??= error;
    }
  }

  /** Checks every path for rotation and truncation; returns whether that produced work. */
  private async checkFiles(): Promise<boolean> {
    let changed = false;
    try {
      for (const follower of this.followers) {
        const before = follower.tails().length;
        const batches = await follower.check(Date.now());
        for (const batch of batches) await this.push(batch, this.shardOfFollower.get(follower)!);
        changed ||= batches.length > 0 || follower.tails().length > before;
      }
    } catch (error) {
      this.failure ??= error;
      return true;
    }
    this.watchDirectories();
    return changed;
  }

  /**
   * After a failed push: waits for what is in flight, then reloads every file's stored position
   * and reads again from there, retrying with backoff while Redis is unreachable.
   */
  private async recover(): Promise<void> {
    const { log, metrics, redis } = this.options;
    const error = this.failure;
    await this.settle();
    const type = errorType(error);
    metrics.errors.inc({ stage: 'collector', type });
    if (error instanceof OffsetConflictError) log.warn({ err: error.message }, 'read position moved under this collector: reloading positions');
    else log.warn({ type, err: (error as Error)?.message }, 'push failed: reloading positions from redis');

    const backoff = new Backoff();
    while (!this.stopped) {
      try {
        await connectRedis(redis, this.stopping.signal);
        // Every position first, then every restart: a failure halfway changes nothing.
        const restarts: [FileTail, ReturnType<typeof parsePosition>][] = [];
        for (const shard of this.shards) {
          const tails: FileTail[] = shard.followers.flatMap((f) => [...f.tails()]);
          const stored = tails.length > 0 ? await redis.hmget(shard.keys.offsets, ...tails.map((t) => t.key)) : [];
          tails.forEach((tail, i) => restarts.push([tail, parsePosition(stored[i] ?? '')]));
        }
        // Where each file goes back to, next to where this collector's acknowledged pushes had left it.
        const positions = restarts.map(([tail, position]) => ({ file: tail.key, path: tail.path, stored: position ? formatPosition(position) : null, acknowledged: formatPosition(tail.committed) }));
        for (const [tail, position] of restarts) {
          if (!position) throw new CremaError(`no stored position for file ${tail.key} (${tail.path})`, 'position_missing');
          tail.restartAt(position);
        }
        this.failure = undefined;
        log.info({ positions }, 'positions reloaded: reading again');
        return;
      } catch (retryError) {
        if (this.stopped) return;
        log.debug({ err: (retryError as Error).message }, 'redis still unavailable');
        await sleep(backoff.next(), this.stopping.signal);
      }
    }
  }

  private async startFollowers(): Promise<void> {
    const backoff = new Backoff();
    for (const follower of this.followers) {
      while (!this.stopped) {
        try {
          await connectRedis(this.options.redis, this.stopping.signal);
          await follower.start(this.options.from);
          break;
        } catch (error) {
          if (this.stopped) return;
          this.options.log.warn({ source: follower.path, err: (error as Error).message }, 'cannot open source yet; retrying');
          await follower.close();
          await sleep(backoff.next(), this.stopping.signal);
        }
      }
    }
    this.watchDirectories();
  }

  /**
   * Forgets the positions of files gone for longer than the retention (offset-pruning.ts). Runs
   * with no push in flight; a failure is logged and retried at the next run, never fatal.
   */
  private async pruneOffsets(): Promise<void> {
    this.pruneAt = Date.now() + this.pruneEveryMs;
    try {
      let pruned = 0;
      for (const shard of this.shards) pruned += (await shard.pruner.run()).pruned;
      if (pruned > 0) this.options.log.info({ pruned }, 'forgot the read positions of files gone for longer than the retention');
    } catch (error) {
      this.options.metrics.errors.inc({ stage: 'collector', type: errorType(error) });
      this.options.log.warn({ err: (error as Error).message }, 'cannot prune stored read positions; retrying later');
    }
  }

  private async waitForQueueToDrain(): Promise<void> {
    const { redis, queueMax, pollMs, log, metrics } = this.options;
    await this.settle();
    metrics.collector.backpressurePauses.inc();
    log.warn({ queueLength: this.queueLength, queueMax }, 'queue over its bound: pausing reading');
    while (!this.stopped && this.failure === undefined) {
      try {
        const lengths = await Promise.all(this.shards.map((shard) => redis.llen(shard.keys.queue)));
        lengths.forEach((length, i) => (this.shards[i]!.queueLength = length));
        metrics.collector.queueLength.set(this.queueLength);
      } catch (error) {
        this.failure = error;
        return;
      }
      if (this.queueLength < queueMax * RESUME_BELOW) {
        log.info({ queueLength: this.queueLength }, 'queue drained: reading again');
        return;
      }
      await sleep(pollMs, this.stopping.signal);
    }
  }

  /** Sleeps until a followed directory changes or the poll interval passes. */
  private waitForChange(): Promise<void> {
    return new Promise((resolveWait) => {
      const timer = setTimeout(done, this.options.pollMs);
      const wake = done;
      this.wake = wake;
      function done() {
        clearTimeout(timer);
        resolveWait();
      }
      if (this.stopped) done();
    });
  }

  /** Watches each followed directory once it exists: file events end an idle wait early. */
  private watchDirectories(): void {
    const wanted = new Set(this.followers.map((f) => dirname(f.path)));
    if (this.watchers.length === wanted.size) return;
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    for (const directory of wanted) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.wake?.());
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {
        // The directory does not exist yet: polling finds the file, the next check watches it.
      }
    }
  }
}
