/**
 * Appends generated orders to a file at a steady rate, or as fast as possible in bulk mode.
 * Every write holds whole lines only, so a reader never sees a line that later changes.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
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

export class Generator {
  private readonly stopping = new AbortController();
  private readonly factory: OrderFactory;
  private running: Promise<void> | undefined;
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
    const handle = await open(file, 'a');
    log.info({ file, rate: this.options.bulk ? 'bulk' : this.options.rate, count: this.options.count || 'unlimited', seed: this.options.seed }, 'generating orders');
    try {
      if (this.options.bulk) await this.runBulk(handle);
      else await this.runSteady(handle);
    } finally {
      await handle.close();
      log.info({ file, orders: this.written }, 'generator stopped');
    }
  }

  private remaining(): number {
    return this.options.count === 0 ? Number.POSITIVE_INFINITY : this.options.count - this.written;
  }

  private async append(handle: FileHandle, orders: number): Promise<void> {
    const now = this.options.orderedAt ? Date.now() : undefined;
    let text = '';
    for (let i = 0; i < orders; i++) text += `${this.factory.line(now)}\n`;
    await handle.write(text);
    this.written += orders;
    this.options.metrics?.generator.orders.inc(orders);
  }

  private async runBulk(handle: FileHandle): Promise<void> {
    while (!this.stopping.signal.aborted && this.remaining() > 0) {
      await this.append(handle, Math.min(BULK_CHUNK, this.remaining()));
    }
  }

  private async runSteady(handle: FileHandle): Promise<void> {
    const started = performance.now();
    while (!this.stopping.signal.aborted && this.remaining() > 0) {
      const due = Math.floor(((performance.now() - started) / 1000) * this.options.rate) - this.written;
      const orders = Math.min(due, this.remaining(), BULK_CHUNK);
      if (orders > 0) await this.append(handle, orders);
      await sleep(TICK_MS, this.stopping.signal);
    }
  }
}
