/**
 * The ticker: every tick it closes the windows that are due, and publishes every window that
 * changed since the last tick on the stats channel (so at most one message per window per tick,
 * never one per order). Several processors may tick: each change is taken by one of them.
 */
import type { RedisClient } from '../core/redis.js';
import { errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Scripts } from '../core/scripts.js';
import { type WindowSnapshot, snapshotFromFields } from '../core/window-snapshot.js';

export interface TickerOptions {
  readonly redis: RedisClient;
  readonly scripts: Scripts;
  readonly keys: RedisKeys;
  /** `SPUBLISH` instead of `PUBLISH`. @defaultValue false */
  readonly shardedPubSub?: boolean;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly tickMs: number;
  /**
   * Takes the windows this ticker saw closed or revised, after every tick (none, often). @defaultValue
   * one log line per window, with this shard's counts (right for one shard; several shards log the
   * merged window, `window-log.ts`)
   */
  readonly logFinal?: (snapshots: readonly WindowSnapshot[]) => void;
  readonly log: Logger;
  readonly metrics: Metrics;
}

export class WindowTicker {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;
  private failing = false;

  constructor(private readonly options: TickerOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.ticking ??= this.tick(Date.now())
        .catch((error: unknown) => this.onError(error))
        .finally(() => {
          this.ticking = undefined;
        });
    }, this.options.tickMs);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  /** Closes due windows and publishes changed ones; returns what it published. */
  async tick(now: number): Promise<WindowSnapshot[]> {
    const { redis, scripts, keys, windowMs, graceMs, retentionMs, log, metrics } = this.options;
    const { closed, changed } = await scripts.tick(now, { windowMs, graceMs, retentionMs });
    if (this.failing) log.info('ticker working again');
    this.failing = false;
    const snapshots = changed.map((window) => snapshotFromFields(window.start, windowMs, window.fields));
    snapshots.sort((a, b) => a.start - b.start);
    if (snapshots.length > 0) {
      // A shard's channel shares its keys' slot: one pipeline, to the node that holds the shard.
      const pipeline = redis.pipeline();
      for (const snapshot of snapshots) {
        if (this.options.shardedPubSub) pipeline.spublish(keys.statsChannel, JSON.stringify(snapshot));
        else pipeline.publish(keys.statsChannel, JSON.stringify(snapshot));
      }
      await pipeline.exec();
    }
    metrics.processor.windowsClosed.inc(closed);
    const final = snapshots.filter((s) => s.final);
    if (this.options.logFinal) this.options.logFinal(final);
    else logWindows(log, final);
    return snapshots;
  }

  private onError(error: unknown): void {
    this.options.metrics.errors.inc({ stage: 'processor', type: errorType(error) });
    if (!this.failing) this.options.log.warn({ err: (error as Error).message }, 'ticker failed; retrying every tick');
    this.failing = true;
  }
}

/** One line per final window: closed, or revised by late orders. */
export function logWindows(log: Logger, windows: readonly WindowSnapshot[], revised = (s: WindowSnapshot) => s.late > 0): void {
  for (const s of windows) {
    log.info({ window: new Date(s.start).toISOString(), orders: s.orders, drinks: s.drinks, late: s.late }, revised(s) ? 'window revised' : 'window closed');
  }
}
