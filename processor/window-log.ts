/**
 * The "window closed" log lines of a sharded prefix: each shard closes its part of a window on
 * its own, so a shard's ticker hands its final windows here after every tick, and a window is
 * logged, summed over every shard, once every shard has closed it.
 *
 * A window handed over before every shard has closed it waits here and is read again after each
 * later tick of this process's shards (a shard with no part of the window closes it by its
 * watermark alone, handing nothing over). Each window is logged once by each process whose shards
 * had a part of it, within a tick of the last shard closing it.
 */
import type { Logger } from '../core/log.js';
import type { WindowReader } from '../core/window-reader.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';
import { logWindows } from './window-ticker.js';

/** Windows waiting for every shard to close them, at most; the oldest are forgotten beyond. */
const MAX_PENDING = 1000;

export class MergedWindowLog {
  /** Start → whether a shard's part was revised by late orders. */
  private readonly pending = new Map<number, boolean>();
  private reading = false;

  constructor(
    private readonly reader: WindowReader,
    private readonly windowMs: number,
    private readonly log: Logger,
  ) {}

  /** For {@link TickerOptions.logFinal}: called after every tick with that shard's final windows (maybe none). */
  readonly logFinal = (shardWindows: readonly WindowSnapshot[]): void => {
    for (const s of shardWindows) this.pending.set(s.start, (this.pending.get(s.start) ?? false) || s.late > 0);
    while (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    if (this.pending.size === 0 || this.reading) return;
    this.reading = true;
    const starts = [...this.pending.keys()];
    this.reader
      .read(starts, this.windowMs)
      .then(
        (merged) => {
          const final = merged.filter((w) => w.final);
          // Revised when a shard's part was revised by late orders since it was last logged.
          logWindows(this.log, final, (w) => this.pending.get(w.start) === true);
          for (const w of final) this.pending.delete(w.start);
        },
        (error: unknown) => this.log.debug({ err: (error as Error).message }, 'cannot read the merged windows for their log lines'),
      )
      .finally(() => (this.reading = false));
  };
}
