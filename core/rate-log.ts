/**
 * Events too frequent to log one by one and too important to pass over in silence (dead letters):
 * counted by key and reported once per interval, one report per key that had any, with the count
 * and the interval's length. Nothing is reported for a quiet interval.
 */

export interface RateLogOptions<K extends string> {
  /** Length of an interval (ms). */
  readonly intervalMs: number;
  /** One call per key with events in the interval that ended: how many, over how many seconds. */
  readonly report: (key: K, count: number, seconds: number) => void;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

export class RateLog<K extends string> {
  private readonly counts = new Map<K, number>();
  private readonly now: () => number;
  private since: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: RateLogOptions<K>) {
    this.now = options.now ?? Date.now;
    this.since = this.now();
    this.timer = setInterval(() => this.flush(), options.intervalMs);
    this.timer.unref();
  }

  /** Counts `n` events of `key`. */
  add(key: K, n = 1): void {
    if (n > 0) this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  /** Reports the counts since the last report, and starts a new interval. */
  flush(): void {
    const now = this.now();
    // Whole seconds, at least 1: a report at shutdown may end a short interval.
    const seconds = Math.max(1, Math.round((now - this.since) / 1000));
    this.since = now;
    const counts = [...this.counts];
    this.counts.clear();
    for (const [key, count] of counts) this.options.report(key, count, seconds);
  }

  /** Stops the interval and reports what was counted in it so far. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
