/**
 * Appends generated orders to a file at a steady rate, or as fast as possible in bulk mode.
 * Every write holds whole lines only, so a reader never sees a line that later changes.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Catalog } from '../core/catalog.js';
import { sleep } from '../core/backoff.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { OrderFactory } from './orders.js';

export interface GeneratorOptions {
  readonly file: string;
  readonly catalog: Catalog;
  /** Orders per second (ignored in bulk mode). */
  readonly rate: number;
  /** Orders to write before stopping; 0 means until closed. */
  readonly count: number;
  readonly seed: number;
  /** Whether each order carries `orderedAt`. */
  readonly orderedAt: boolean;
  /** Write as fast as possible. */
  readonly bulk: boolean;
  readonly log: Logger;
  readonly metrics?: Metrics;
}

const TICK_MS = 25;
const BULK_CHUNK = 10_000;
/** How often the generator checks whether its file was rotated away, as a logging process would on SIGHUP. */
const REOPEN_CHECK_MS = 1000;

export class Generator {
  private readonly stopping = new AbortController();
  private readonly factory: OrderFactory;
  private running: Promise<void> | undefined;
  private handle: FileHandle | undefined;
  private written = 0;

  constructor(private readonly options: GeneratorOptions) {
    this.factory = new OrderFactory(options.catalog, options.seed);
  }

  /** Orders written so far. */
  get ordersWritten(): number {
    return this.written;
  }

  /** Starts writing; the returned promise settles when the count is reached or the generator is closed. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  readonly close = once(async () => {
    this.stopping.abort();
    await this.running;
  });

  private async run(): Promise<void> {
    const { file, log } = this.options;
    await mkdir(dirname(file), { recursive: true });
    this.handle = await open(file, 'a');
    log.info({ file, rate: this.options.bulk ? 'bulk' : this.options.rate, count: this.options.count || 'unlimited', seed: this.options.seed }, 'generating orders');
    try {
      if (this.options.bulk) await this.runBulk();
      else await this.runSteady();
    } finally {
      await this.handle.close();
      log.info({ file, orders: this.written }, 'generator stopped');
    }
  }

  /** Reopens the path when the file there is no longer the one being written (rotated or removed). */
  private async reopenIfRotated(): Promise<void> {
    const [atPath, current] = await Promise.all([stat(this.options.file).catch(() => undefined), this.handle!.stat()]);
    if (atPath && atPath.ino === current.ino && atPath.dev === current.dev) return;
    await this.handle!.close();
    this.handle = await open(this.options.file, 'a');
    this.options.log.info({ file: this.options.file }, 'file rotated: writing to the new file');
  }

  private remaining(): number {
    return this.options.count === 0 ? Number.POSITIVE_INFINITY : this.options.count - this.written;
  }

  private async append(orders: number): Promise<void> {
    const now = this.options.orderedAt ? Date.now() : undefined;
    let text = '';
    for (let i = 0; i < orders; i++) text += `${this.factory.line(now)}\n`;
    await this.handle!.write(text);
    this.written += orders;
    this.options.metrics?.generator.orders.inc(orders);
  }

  private async runBulk(): Promise<void> {
    while (!this.stopping.signal.aborted && this.remaining() > 0) {
      await this.append(Math.min(BULK_CHUNK, this.remaining()));
    }
  }

  private async runSteady(): Promise<void> {
    const started = performance.now();
    let checkedAt = started;
    while (!this.stopping.signal.aborted && this.remaining() > 0) {
      const now = performance.now();
      if (now - checkedAt >= REOPEN_CHECK_MS) {
        checkedAt = now;
        await this.reopenIfRotated();
      }
      const due = Math.floor(((now - started) / 1000) * this.options.rate) - this.written;
      const orders = Math.min(due, this.remaining(), BULK_CHUNK);
      if (orders > 0) await this.append(orders);
      await sleep(TICK_MS, this.stopping.signal);
    }
  }
}
