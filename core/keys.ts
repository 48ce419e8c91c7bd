/** Every Redis key Crema uses, and which stage may use each (the Redis users of `crema acl`). */

/** The stages that talk to Redis; each may run as a Redis user of its own (`crema acl`). */
export const REDIS_STAGES = ['collector', 'processor', 'exporter', 'web'] as const;
export type RedisStage = (typeof REDIS_STAGES)[number];

/** How a stage uses a key: `read` it only, or `write` it (and read it). */
export type KeyAccess = 'read' | 'write';

/** A key (or, for a `*Prefix` field, every key under it) that a stage may use, as an ACL key pattern. */
export interface KeyGrant {
  /** A Redis glob pattern: the key itself, glob characters escaped, or a prefix followed by `*`. */
  readonly pattern: string;
  readonly access: KeyAccess;
}

/** Names of the keys and channels of {@link RedisKeys} (its string fields but the prefix itself). */
export type KeyName = Exclude<{ [K in keyof RedisKeys]: RedisKeys[K] extends string ? K : never }[keyof RedisKeys], 'prefix'>;

/**
 * Which stage uses each key, and how: `crema acl` grants each stage exactly these (see
 * `core/acl.ts`). Every key of {@link RedisKeys} must be listed, or this does not compile; a
 * stage that uses a key it is not granted is refused by Redis in the ACL test.
 */
const KEY_USERS = {
  queue: { collector: 'write', processor: 'write' },
  offsets: { collector: 'write' },
  offsetsSeen: { collector: 'write' },
  // Dead letters: the processor writes them. `crema dead` is an operator's tool with no user of its own yet: run it as an admin user.
  legacyDead: { processor: 'write' },
  deadLetters: { processor: 'write' },
  deadIndex: { processor: 'write' },
  deadCounters: { processor: 'write' },
  windows: { processor: 'write', web: 'read' },
  open: { processor: 'write', exporter: 'read' },
  dirty: { processor: 'write' },
  changes: { processor: 'write', exporter: 'read' },
  consumers: { processor: 'write' },
  exportCheckpoint: { exporter: 'write' },
  settings: { collector: 'write', processor: 'write', exporter: 'read', web: 'read' },
  closedThrough: { processor: 'write', exporter: 'read', web: 'read' },
  // A channel: the processor publishes, the web server subscribes.
  statsChannel: { processor: 'write', web: 'read' },
  windowPrefix: { processor: 'write', exporter: 'read', web: 'read' },
  processingPrefix: { processor: 'write' },
  leasePrefix: { processor: 'write' },
} as const satisfies Record<KeyName, Partial<Record<RedisStage, KeyAccess>>>;

/** Fields of {@link RedisKeys} that name pub/sub channels, not keys. */
const CHANNELS: ReadonlySet<KeyName> = new Set<KeyName>(['statsChannel']);

/** `text` with Redis's glob characters escaped, so that a pattern matches it literally. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Every Redis key Crema uses, built here and nowhere else. A shard's keys are those of its prefix
 * (`core/shards.ts`), which carries the hash tag that keeps them in one Redis Cluster slot.
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
  /**
   * String: start of the latest window the ticker has closed (every window starting at or before it
   * is closed); readers of several shards tell a window a shard closed from one it never had.
   */
  readonly closedThrough: string;
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
    this.closedThrough = `${prefix}closed-through`;
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

  /** The keys (as ACL patterns) and channels `stage` uses, from the table of who uses which key. */
  grants(stage: RedisStage): { readonly keys: readonly KeyGrant[]; readonly channels: readonly string[] } {
    const keys: KeyGrant[] = [];
    const channels: string[] = [];
    for (const [name, users] of Object.entries(KEY_USERS) as [KeyName, Partial<Record<RedisStage, KeyAccess>>][]) {
      const access = users[stage];
      if (access === undefined) continue;
      const literal = globLiteral(this[name]);
      if (CHANNELS.has(name)) channels.push(literal);
      else keys.push({ pattern: name.endsWith('Prefix') ? `${literal}*` : literal, access });
    }
    return { keys, channels };
  }
}
