/**
 * Appends generated orders to a file at a steady rate, or as fast as possible in bulk mode.
 * Every write holds whole lines only, so a reader never sees a line that later changes.
 */
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
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
  /** Write as fast as possible (one file: never rotated). */
  readonly bulk: boolean;
  /** Size past which the file is renamed to `<file>.1` and a new one started; 0 never. @defaultValue 0 */
  readonly rotateBytes?: number;
  /** Rotated files kept (`<file>.1` … `<file>.<n>`); older ones are deleted. @defaultValue 3 */
  readonly rotateKeep?: number;
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
  /** Bytes in the file being written. */
  private size = 0;
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
    await this.openFile();
    log.info({ file, rate: this.options.bulk ? 'bulk' : this.options.rate, count: this.options.count || 'unlimited', seed: this.options.seed }, 'generating orders');
    try {
      if (this.options.bulk) await this.runBulk();
      else await this.runSteady();
    } finally {
      await this.handle?.close();
      log.info({ file, orders: this.written }, 'generator stopped');
    }
  }

  private async openFile(): Promise<void> {
    this.handle = await open(this.options.file, 'a');
    this.size = (await this.handle.stat()).size;
  }

  /** Reopens the path when the file there is no longer the one being written (rotated or removed). */
  private async reopenIfRotated(): Promise<void> {
    const [atPath, current] = await Promise.all([stat(this.options.file).catch(() => undefined), this.handle!.stat()]);
    if (atPath && atPath.ino === current.ino && atPath.dev === current.dev) return;
    await this.handle!.close();
    await this.openFile();
    this.options.log.info({ file: this.options.file }, 'file rotated: writing to the new file');
  }

  /**
   * Rename rotation, as logrotate does it: `<file>.k` becomes `<file>.k+1` (the oldest kept one is
   * deleted), `<file>` becomes `<file>.1`, and a new file is started. Whole lines only ever reach a
   * file, and a reader following the path (the collector) reads the renamed file to its end.
   */
  private async rotate(): Promise<void> {
    const { file, log } = this.options;
    const keep = this.options.rotateKeep ?? 3;
    const renameIfThere = (from: string, to: string) =>
      rename(from, to).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    await rm(`${file}.${keep}`, { force: true });
    for (let k = keep - 1; k >= 1; k--) await renameIfThere(`${file}.${k}`, `${file}.${k + 1}`);
    await renameIfThere(file, `${file}.1`); // gone already (removed by someone else): just start a new file
    await this.handle!.close();
    await this.openFile();
    log.info({ file, rotatedTo: `${file}.1`, keep }, 'file rotated: writing a new file');
  }

  private remaining(): number {
    return this.options.count === 0 ? Number.POSITIVE_INFINITY : this.options.count - this.written;
  }

  private async append(orders: number): Promise<void> {
    const now = this.options.orderedAt ? Date.now() : undefined;
    let text = '';
    for (let i = 0; i < orders; i++) text += `${this.factory.line(now)}\n`;
    const { bytesWritten } = await this.handle!.write(text);
    this.size += bytesWritten;
    this.written += orders;
    this.options.metrics?.generator.orders.inc(orders);
    const limit = this.options.rotateBytes ?? 0;
    if (limit > 0 && !this.options.bulk && this.size >= limit) await this.rotate();
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
