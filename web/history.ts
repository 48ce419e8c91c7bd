/** Reads windows from Redis for the history API and the stream's snapshot on connect. */
import type { RedisClient } from '../core/redis.js';
import { CremaError } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import { WindowReader } from '../core/window-reader.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';
import type { WindowQuery } from './window-query.js';

export interface WindowPage {
  /** Windows in the range, oldest first, at most `limit`: the latest ones when there are more. */
  readonly windows: WindowSnapshot[];
  /** Whether the range holds older windows than those returned. */
  readonly truncated: boolean;
  /** The window size of the prefix. */
  readonly windowMs: number;
}

/** No processor has stored the prefix's shared settings yet, so the window size is not known. */
export class WindowSizeUnknownError extends CremaError {
  constructor(readonly key: string) {
    super(`no processor has stored the shared settings (${key}) yet, so the window size is not known: start crema process (or crema up) on this prefix`, 'no_shared_settings');
  }
}

export class WindowHistory {
  private reader: WindowReader;

  constructor(
    private readonly redis: RedisClient,
    /** Every shard's keys, until {@link readShards} says otherwise. */
    shards: readonly RedisKeys[],
    /** Where the shared settings are, for the message while they are not. */
    private readonly settingsKey: string,
    /** The window size from the shared settings; undefined until a processor has stored them. */
    private readonly windowMs: () => number | undefined,
  ) {
    this.reader = new WindowReader(redis, shards);
  }

  /** Reads these shards from now on (the shard count stored for the prefix). */
  readShards(shards: readonly RedisKeys[]): void {
    this.reader = new WindowReader(this.redis, shards);
  }

  /** One window, summed over every shard; undefined when no shard has it or the window size is not known yet. */
  async window(start: number): Promise<WindowSnapshot | undefined> {
    const windowMs = this.windowMs();
    if (windowMs === undefined) return undefined;
    return (await this.reader.read([start], windowMs))[0];
  }

  /**
   * The latest `limit` windows whose start lies in `[from, to]`: one index read, one pipeline of reads.
   * Throws a {@link WindowSizeUnknownError} until the window size is known.
   */
  async range(query: WindowQuery): Promise<WindowPage> {
    const windowMs = this.windowMs();
    if (windowMs === undefined) throw new WindowSizeUnknownError(this.settingsKey);
    // One more than asked tells whether the range was cut.
    const starts = await this.reader.startsBetween(query.from, query.to, query.limit + 1);
    const truncated = starts.length > query.limit;
    const wanted = starts.slice(0, query.limit).reverse();
    return { windows: await this.reader.read(wanted, windowMs), truncated, windowMs };
  }

  /** The newest window that has started by `now`, if any (none while the window size is unknown). */
  async latest(now: number): Promise<WindowSnapshot | undefined> {
    const windowMs = this.windowMs();
    if (windowMs === undefined) return undefined;
    const [start] = await this.reader.startsBetween(Number.NEGATIVE_INFINITY, now, 1);
    if (start === undefined) return undefined;
    return (await this.reader.read([start], windowMs))[0];
  }
}
