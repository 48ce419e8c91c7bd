/**
 * The processor: claims batches from the queue under its lease, counts them in memory and
 * commits each with one fenced script, so every envelope is counted by exactly one commit.
 * A batch claimed and not committed (crash, lost answer, lost lease) is counted again, by this
 * consumer when it comes back or by any processor once the lease has expired.
 */
import type { Redis } from 'ioredis';
import { Backoff, sleep } from '../core/backoff.js';
import type { Catalog } from '../core/catalog.js';
import { LeaseLostError, ScriptCode, errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { connectRedis } from '../core/redis.js';
import { BatchCounter, commitArguments } from './batch-counter.js';
import { ConsumerLease } from './consumer-lease.js';
import { WindowTicker } from './window-ticker.js';

export interface ProcessorOptions {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly consumer: string;
  readonly catalog: Catalog;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly maxClockSkewMs: number;
  readonly batchSize: number;
  readonly leaseMs: number;
  readonly tickMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** Longest sleep of an idle processor: bounds the latency a new order waits for. */
const IDLE_MAX_MS = 20;

export class Processor {
  private readonly stopping = new AbortController();
  private readonly counter: BatchCounter;
  private readonly lease: ConsumerLease;
  private readonly ticker: WindowTicker;
  private recoveryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ProcessorOptions) {
    this.counter = new BatchCounter({
      catalog: options.catalog,
      windowMs: options.windowMs,
      limits: { maxFutureMs: options.maxClockSkewMs, maxPastMs: options.retentionMs },
    });
    this.lease = new ConsumerLease(options.redis, options.keys, options.consumer, options.leaseMs, options.log);
    this.ticker = new WindowTicker(options);
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
    while (!this.stopped) {
      try {
        if (needLease) {
          await connectRedis(this.options.redis, this.stopping.signal);
          const pending = await this.lease.acquire();
          needLease = false;
          log.info({ consumer, pending }, pending > 0 ? 'lease taken: recounting the batch left uncommitted' : 'lease taken: processing');
          this.startBackgroundWork();
        }
        const processed = await this.processOneBatch();
        backoff.reset();
        if (processed > 0) {
          idleMs = 1;
        } else {
          await sleep(idleMs, this.stopping.signal);
          idleMs = Math.min(IDLE_MAX_MS, idleMs * 2);
        }
      } catch (error) {
        if (this.stopped) break;
        this.options.metrics.errors.inc({ stage: 'processor', type: errorType(error) });
        if (error instanceof LeaseLostError) {
          this.options.metrics.processor.leaseLost.inc();
          log.warn({ consumer }, error.message);
        } else {
          log.warn({ consumer, err: (error as Error).message }, 'processing failed; retrying with backoff');
          await sleep(backoff.next(), this.stopping.signal);
        }
        // A new token: whatever this processor had claimed is recounted under it, or by others.
        needLease = true;
      }
    }
  }

  /** Claims, counts and commits one batch; returns how many envelopes it committed. */
  private async processOneBatch(): Promise<number> {
    const { redis, keys, consumer, batchSize, leaseMs, windowMs, retentionMs, metrics, log } = this.options;
    const processing = keys.processing(consumer);
    const lease = keys.lease(consumer);
    const [code, envelopes = []] = await redis.claimBatch(keys.queue, processing, lease, this.lease.token, batchSize, leaseMs);
    if (code === ScriptCode.LeaseLost) throw this.lease.lost();
    if (envelopes.length === 0) return 0;
    if (code === 1) log.info({ consumer, envelopes: envelopes.length }, 'recounting a batch claimed earlier and not committed');

    const now = Date.now();
    const counts = this.counter.count(envelopes, now);
    const commitStarted = performance.now();
    const [commitCode, late = 0] = await redis.commitBatch(
      lease,
      processing,
      keys.windows,
      keys.open,
      keys.dirty,
      keys.dead,
      keys.changes,
      this.lease.token,
      leaseMs,
      keys.windowPrefix,
      windowMs,
      retentionMs,
      ...commitArguments(counts),
    );
    if (commitCode === ScriptCode.LeaseLost) throw this.lease.lost();

    const committedAt = Date.now();
    metrics.processor.commitDuration.observe((performance.now() - commitStarted) / 1000);
    metrics.processor.batchSize.observe(envelopes.length);
    metrics.processor.orders.inc({ result: 'counted' }, counts.counted);
    metrics.processor.orders.inc({ result: 'dead' }, counts.dead.length);
    if (late > 0) metrics.processor.orders.inc({ result: 'late' }, late);
    if (counts.clockSkewed > 0) metrics.processor.clockSkew.inc(counts.clockSkewed);
    for (const [reason, n] of counts.deadByReason) metrics.processor.deadLetters.inc({ reason }, n);
    if (Number.isFinite(counts.oldestIngestedAt)) {
      metrics.processor.latency.observe(Math.max(0, committedAt - counts.oldestIngestedAt) / 1000);
    }
    return envelopes.length;
  }

  /** The ticker and the recovery of dead consumers' batches. */
  private startBackgroundWork(): void {
    this.ticker.start();
    if (this.recoveryTimer) return;
    const { redis, keys, leaseMs, log, metrics } = this.options;
    this.recoveryTimer = setInterval(() => {
      redis.recoverConsumers(keys.consumers, keys.queue, keys.processingPrefix, keys.leasePrefix).then(
        ([consumers, envelopes]) => {
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
