/**
 * The processor: claims batches from the queue under its lease, counts them in memory and
 * commits each with one fenced script, so every envelope is counted by exactly one commit.
 * A batch claimed and not committed (crash, lost answer, lost lease) is counted again, by this
 * consumer when it comes back or by any processor once the lease has expired.
 */
import type { RedisClient } from '../core/redis.js';
import { Backoff, sleep } from '../core/backoff.js';
import type { Catalog } from '../core/catalog.js';
import { DEFAULT_DEAD_LETTER_MAX } from '../core/dead-letter.js';
import { ClaimLostError, LeaseLostError, errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { DeadLetterReason } from '../core/order.js';
import { RateLog } from '../core/rate-log.js';
import { connectRedis } from '../core/redis.js';
import { Scripts } from '../core/scripts.js';
import { BacklogLog } from './backlog-log.js';
import { BatchCounter, drinksOf } from './batch-counter.js';
import { ConsumerLease } from './consumer-lease.js';
import { WindowTicker } from './window-ticker.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';

export interface ProcessorOptions {
  readonly redis: RedisClient;
  /** The keys of the shard this processor counts. */
  readonly keys: RedisKeys;
  /** Whether window changes go out by sharded pub/sub (`SPUBLISH`, `core/shards.ts`). @defaultValue false */
  readonly shardedPubSub?: boolean;
  readonly consumer: string;
  readonly catalog: Catalog;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly maxClockSkewMs: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly tickMs: number;
  /** How the ticker logs final windows (several shards log them merged). @defaultValue each window of this shard */
  readonly logFinal?: (snapshots: readonly WindowSnapshot[]) => void;
  /** How often dead letters are logged, as a count per reason. @defaultValue 60 s */
  readonly deadLetterLogMs?: number;
  /** Most dead letters kept; commits drop the oldest beyond. @defaultValue {@link DEFAULT_DEAD_LETTER_MAX} */
  readonly deadLetterMax?: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Longest sleep of an idle processor: bounds the latency a new order waits for. */
const IDLE_MAX_MS = 20;

export class Processor {
  private readonly stopping = new AbortController();
  private readonly counter: BatchCounter;
  private readonly scripts: Scripts;
  private readonly lease: ConsumerLease;
  private readonly ticker: WindowTicker;
  private readonly backlog: BacklogLog;
  private readonly deadLetters: RateLog<DeadLetterReason>;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Whether dropping dead letters at the cap has been logged (once per process; the metric counts every one). */
  private trimLogged = false;

  constructor(private readonly options: ProcessorOptions) {
    this.counter = new BatchCounter({
      catalog: options.catalog,
      windowMs: options.windowMs,
      limits: { maxFutureMs: options.maxClockSkewMs, maxPastMs: options.retentionMs },
    });
    this.scripts = new Scripts(options.redis, options.keys);
    this.lease = new ConsumerLease(this.scripts, options.consumer, options.leaseMs, options.log);
    this.ticker = new WindowTicker({ ...options, scripts: this.scripts });
    const { log, consumer, redis, keys } = options;
    this.backlog = new BacklogLog({ log, consumer, batchSize: options.batchSize, queueLength: () => redis.llen(keys.queue) });
    this.deadLetters = new RateLog({
      intervalMs: options.deadLetterLogMs ?? 60_000,
      report: (reason, count, seconds) => log.warn({ reason, count, seconds }, `dead letters: ${reason} ${count} in the last ${seconds} s`),
    });
  }

  /** Runs until closed. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /** Stops claiming, commits the batch in hand, releases the lease. Idempotent. */
  readonly close = once(async () => {
    this.stopping.abort();
    clearInterval(this.recoveryTimer);
    await this.running?.catch(() => {});
    this.deadLetters.close();
    await this.ticker.close();
    try {
      await this.lease.release();
    } catch (error) {
      this.options.log.warn({ err: (error as Error).message }, 'could not release the lease; it expires by itself');
    }
  });

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const { log, consumer } = this.options;
    const backoff = new Backoff();
    let idleMs = 1;
    let needLease = true;
    // The next batch, claimed while the current one is counted so that Redis and counting overlap.
    let prefetched: Promise<Buffer[]> | undefined;
    while (!this.stopped) {
      try {
        let batch: Buffer[];
        if (needLease) {
          prefetched = undefined;
          await connectRedis(this.options.redis, this.stopping.signal);
          await this.lease.acquire();
          needLease = false;
          this.startBackgroundWork();
          batch = await this.claim('resume');
          log.info({ consumer, pending: batch.length }, batch.length > 0 ? 'lease taken: recounting envelopes claimed earlier and not committed' : 'lease taken: processing');
        } else {
          // Nothing in hand without a prefetched claim: the processing list must be empty.
          batch = await (prefetched ?? this.claim('next', 0));
          prefetched = undefined;
          this.backlog.claimed(batch.length);
        }
        if (batch.length === 0) {
          // Nothing failed and nothing is pending: a later failure starts its backoff afresh.
          backoff.reset();
          await sleep(idleMs, this.stopping.signal);
          idleMs = Math.min(IDLE_MAX_MS, idleMs * 2);
          continue;
        }
        idleMs = 1;
        if (!this.stopped) {
          // Sent before the commit of `batch`, which is still in the processing list then.
          prefetched = this.claim('next', batch.length);
          prefetched.catch(() => {}); // its failure surfaces where it is awaited
        }
        await this.countAndCommit(batch);
        // Only a commit that went through ends a run of failures: a batch whose commit keeps
        // failing is retried ever more slowly, never in a tight loop.
        backoff.reset();
      } catch (error) {
        prefetched = undefined;
        if (this.stopped) break;
        this.options.metrics.errors.inc({ stage: 'processor', type: errorType(error) });
        if (error instanceof LeaseLostError) {
          this.options.metrics.processor.leaseLost.inc();
          log.warn({ consumer }, error.message);
        } else if (error instanceof ClaimLostError) {
          log.warn({ consumer }, error.message);
        } else {
          log.warn({ consumer, err: (error as Error).message }, 'processing failed; retrying with backoff');
          await sleep(backoff.next(), this.stopping.signal);
        }
        // A new lease: whatever this processor had claimed is recounted under it, or by others.
        needLease = true;
      }
    }
    // A batch claimed before the stop is committed too, so that nothing is left for recovery.
    if (prefetched) {
      try {
        const batch = await prefetched;
        if (batch.length > 0) await this.countAndCommit(batch);
      } catch (error) {
        log.warn({ consumer, err: (error as Error).message }, 'could not commit the last claimed batch; it will be recounted');
      }
    }
  }

  /** Claims under the lease; `pending` is what this processor holds claimed and not committed when Redis runs the claim. */
  private async claim(mode: 'resume', pending?: undefined): Promise<Buffer[]>;
  private async claim(mode: 'next', pending: number): Promise<Buffer[]>;
  private async claim(mode: 'resume' | 'next', pending?: number): Promise<Buffer[]> {
    return this.scripts.claimBatch(this.lease.current, mode, this.options.batchSize, pending);
  }

  /** Counts a claimed batch and commits it with one fenced script. */
  private async countAndCommit(envelopes: readonly Buffer[]): Promise<void> {
    const { windowMs, graceMs, retentionMs, metrics } = this.options;
    const counts = this.counter.count(envelopes, Date.now());
    const commitStarted = performance.now();
    const deadLetterMax = this.options.deadLetterMax ?? DEFAULT_DEAD_LETTER_MAX;
    const { late, trimmed } = await this.scripts.commitBatch(this.lease.current, counts, { windowMs, graceMs, retentionMs }, deadLetterMax);

    const committedAt = Date.now();
    metrics.processor.commitDuration.observe((performance.now() - commitStarted) / 1000);
    metrics.processor.batchSize.observe(envelopes.length);
    this.backlog.committed(envelopes.length);
    metrics.processor.orders.inc({ result: 'counted' }, counts.counted);
    metrics.processor.orders.inc({ result: 'dead' }, counts.dead.length);
    if (late > 0) metrics.processor.orders.inc({ result: 'late' }, late);
    metrics.processor.drinks.inc(drinksOf(counts));
    if (counts.clockSkewed > 0) metrics.processor.clockSkew.inc(counts.clockSkewed);
    for (const [reason, n] of counts.deadByReason) {
      metrics.processor.deadLetters.inc({ reason }, n);
      this.deadLetters.add(reason, n);
    }
    if (trimmed > 0) this.deadLettersTrimmed(trimmed, deadLetterMax);
    if (Number.isFinite(counts.oldestIngestedAt)) {
      metrics.processor.latency.observe(Math.max(0, committedAt - counts.oldestIngestedAt) / 1000);
    }
  }

  private deadLettersTrimmed(trimmed: number, max: number): void {
    this.options.metrics.processor.deadLettersTrimmed.inc(trimmed);
    if (this.trimLogged) return;
    this.trimLogged = true;
    this.options.log.warn(
      { key: this.options.keys.deadLetters, max, trimmed },
      'the dead-letter store is full: the oldest dead letters are dropped (counted in coffee_processor_dead_letters_trimmed_total, logged once); replay or purge them with crema dead, or raise CREMA_DEAD_MAX',
    );
  }

  /** The ticker and the recovery of dead consumers' batches. */
  private startBackgroundWork(): void {
    this.ticker.start();
    if (this.recoveryTimer) return;
    const { leaseMs, log, metrics } = this.options;
    this.recoveryTimer = setInterval(() => {
      this.scripts.recoverConsumers().then(
        ({ consumers, envelopes }) => {
          if (consumers === 0) return;
          metrics.processor.recovered.inc(envelopes);
          log.info({ consumers, envelopes }, 'put the batches of expired consumers back on the queue');
        },
        () => {
          // Redis unreachable: the processing loop reports it.
        },
      );
    }, Math.max(500, Math.floor(leaseMs / 2)));
  }
}
