/**
 * Every Redis key Crema uses, built here and nowhere else.
 *
 * To run on Redis Cluster, give a prefix with a hash tag (`{coffee}:`) so that all keys share
 * one slot: the scripts touch several keys at once.
 */
export class RedisKeys {
  /** The queue: a list of envelopes, oldest first. */
  readonly queue: string;
  /** Hash: file key → committed read position of that file. */
  readonly offsets: string;
  /**
   * Sorted set: file key → when a collector last saw that file (ms): open, or present at a
   * followed path or under one of its rotation names. Positions of files not seen for longer than
   * the retention are deleted from {@link offsets}.
   */
  readonly offsetsSeen: string;
  /**
   * List of dead letters in the earlier format (JSON `{reason, message, id, source, host, line,
   * truncated, at}`); `crema dead migrate` moves them into {@link deadLetters}.
   */
  readonly legacyDead: string;
  /** Hash: dead-letter number → record (a JSON header, a newline, the queue element's bytes; `core/dead-letter.ts`). */
  readonly deadLetters: string;
  /** Sorted set of `<number, zero-padded to 16 digits>:<reason>` for every record of {@link deadLetters}, scored by when it was made (ms). */
  readonly deadIndex: string;
  /** Hash: `seq` (the last dead-letter number given out) and totals `trimmed`, `replayed`, `purged`, `migrated`. */
  readonly deadCounters: string;
  /** Sorted set of every window start (score = start). */
  readonly windows: string;
  /** Sorted set of windows not yet closed (score = start). */
  readonly open: string;
  /** Set of window starts changed since the last publish. */
  readonly dirty: string;
  /** Stream of window events (`kind` = final | revised) for exporters to follow from a checkpoint. */
  readonly changes: string;
  /** Set of consumer names that may hold a claimed batch. */
  readonly consumers: string;
  /** String: id of the last `changes` entry the exporter has written to InfluxDB and had acknowledged. */
  readonly exportCheckpoint: string;
  /** Hash of the settings every stage of this prefix shares (window size, grace, retention, catalog); written once. */
  readonly settings: string;
  /** Pub/sub channel of window snapshots. */
  readonly statsChannel: string;
  /** What `window(start)` puts before the start; the scripts build window keys from it. */
  readonly windowPrefix: string;
  /** What `processing(consumer)` puts before the consumer name. */
  readonly processingPrefix: string;
  /** What `lease(consumer)` puts before the consumer name. */
  readonly leasePrefix: string;

  constructor(readonly prefix: string) {
    this.queue = `${prefix}orders`;
    this.offsets = `${prefix}offsets`;
    this.offsetsSeen = `${prefix}offsets:seen`;
    this.legacyDead = `${prefix}dead`;
    this.deadLetters = `${prefix}dead:letters`;
    this.deadIndex = `${prefix}dead:index`;
    this.deadCounters = `${prefix}dead:counters`;
    this.windows = `${prefix}windows`;
    this.open = `${prefix}open`;
    this.dirty = `${prefix}dirty`;
    this.changes = `${prefix}changes`;
    this.consumers = `${prefix}consumers`;
    this.exportCheckpoint = `${prefix}export:checkpoint`;
    this.settings = `${prefix}settings`;
    this.statsChannel = `${prefix}stats`;
    this.windowPrefix = `${prefix}window:`;
    this.processingPrefix = `${prefix}processing:`;
    this.leasePrefix = `${prefix}lease:`;
  }

  /** Hash of one window's counts. */
  window(startMs: number): string {
    return `${this.windowPrefix}${startMs}`;
  }

  /** List of the batch a consumer has claimed and not yet committed. */
  processing(consumer: string): string {
    return `${this.processingPrefix}${consumer}`;
  }

  /** A consumer's lease: its fencing token, with a TTL. */
  lease(consumer: string): string {
    return `${this.leasePrefix}${consumer}`;
  }
}
