/**
 * The ticker: every tick it closes the windows that are due, and publishes every window that
 * changed since the last tick on the stats channel (so at most one message per window per tick,
 * never one per order). Several processors may tick: each change is taken by one of them.
 */
import type { Redis } from 'ioredis';
import { errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Scripts } from '../core/scripts.js';
import { type WindowSnapshot, snapshotFromFields } from '../core/window-snapshot.js';

export interface TickerOptions {
  readonly redis: Redis;
  readonly scripts: Scripts;
  readonly keys: RedisKeys;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly tickMs: number;
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
      const pipeline = redis.pipeline();
      for (const snapshot of snapshots) pipeline.publish(keys.statsChannel, JSON.stringify(snapshot));
      await pipeline.exec();
    }
    metrics.processor.windowsClosed.inc(closed);
    for (const s of snapshots) {
      if (s.final) {
        log.info({ window: new Date(s.start).toISOString(), orders: s.orders, drinks: s.drinks, late: s.late }, s.late > 0 ? 'window revised' : 'window closed');
      }
    }
    return snapshots;
  }

  private onError(error: unknown): void {
    this.options.metrics.errors.inc({ stage: 'processor', type: errorType(error) });
    if (!this.failing) this.options.log.warn({ err: (error as Error).message }, 'ticker failed; retrying every tick');
    this.failing = true;
  }
}
