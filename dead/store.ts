/**
 * Reads the dead-letter store (`core/dead-letter.ts`): the index by time and reason, records by
 * number, the counters; every write goes through the scripts.
 */
import type { RedisClient } from '../core/redis.js';
import { type DeadLetter, decodeDeadLetter, parseDeadLetterMember } from '../core/dead-letter.js';
import type { RedisKeys } from '../core/keys.js';

/** One entry of the index: enough to choose letters without reading their bytes. */
export interface IndexEntry {
  readonly id: number;
  readonly reason: string;
  /** When the letter was made (epoch ms). */
  readonly at: number;
}

/** Which letters: made in `[since, until)`, with one of `reasons` (any when empty). */
export interface Selection {
  readonly since?: number;
  readonly until?: number;
  readonly reasons?: readonly string[];
}

/** The store's totals since it began. */
export interface DeadCounters {
  /** The last number given out. */
  readonly seq: number;
  readonly trimmed: number;
  readonly replayed: number;
  readonly purged: number;
  readonly migrated: number;
}

/** Index entries read per round trip. */
const PAGE = 1000;

export class DeadLetterStore {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: RedisKeys,
  ) {}

  /** Letters in the store. */
  async size(): Promise<number> {
    return this.redis.zcard(this.keys.deadIndex);
  }

  /** Letters of the earlier format still waiting in the legacy list (0 when there is none, or the key is not a list). */
  async legacySize(): Promise<number> {
    const type = await this.redis.type(this.keys.legacyDead);
    return type === 'list' ? this.redis.llen(this.keys.legacyDead) : 0;
  }

  async counters(): Promise<DeadCounters> {
    const fields = await this.redis.hgetall(this.keys.deadCounters);
    const n = (name: string) => Number(fields[name] ?? 0);
    return { seq: n('seq'), trimmed: n('trimmed'), replayed: n('replayed'), purged: n('purged'), migrated: n('migrated') };
  }

  /**
   * The index entries of a selection, page by page, oldest first (or newest first). Pages follow
   * scores, not positions, so letters removed or added meanwhile (by a processor, a replay, the cap)
   * shift nothing: each letter present throughout is seen once.
   */
  async *entries(selection: Selection = {}, order: 'oldest' | 'newest' = 'oldest'): AsyncGenerator<IndexEntry[]> {
    const reasons = selection.reasons && selection.reasons.length > 0 ? new Set(selection.reasons) : undefined;
    // The bound pages move: `from` is inclusive, and `skip` counts the entries at exactly that score already seen.
    let from = order === 'oldest' ? (selection.since === undefined ? '-inf' : String(selection.since)) : selection.until === undefined ? '+inf' : `(${selection.until}`;
    const to = order === 'oldest' ? (selection.until === undefined ? '+inf' : `(${selection.until}`) : selection.since === undefined ? '-inf' : String(selection.since);
    let skip = 0;
    for (;;) {
      const flat =
        order === 'oldest'
          ? await this.redis.zrange(this.keys.deadIndex, from, to, 'BYSCORE', 'LIMIT', skip, PAGE, 'WITHSCORES')
          : await this.redis.zrange(this.keys.deadIndex, from, to, 'BYSCORE', 'REV', 'LIMIT', skip, PAGE, 'WITHSCORES');
      const page: IndexEntry[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const member = parseDeadLetterMember(flat[i]!);
        if (member) page.push({ ...member, at: Number(flat[i + 1]) });
      }
      const chosen = reasons ? page.filter((e) => reasons.has(e.reason)) : page;
      if (chosen.length > 0) yield chosen;
      if (flat.length < 2 * PAGE) return;
      const last = Number(flat[flat.length - 1]);
      const atLast = countFromEnd(flat, last);
      if (String(last) === from.replace('(', '')) {
        skip += flat.length / 2;
      } else {
        from = String(last);
        skip = atLast;
      }
    }
  }

  /** Every index entry of a selection, oldest first. */
  async allEntries(selection: Selection = {}): Promise<IndexEntry[]> {
    const all: IndexEntry[] = [];
    for await (const page of this.entries(selection)) all.push(...page);
    return all;
  }

  /** The letters stored under these numbers (missing ones are left out). */
  async letters(ids: readonly number[]): Promise<Map<number, DeadLetter>> {
    const found = new Map<number, DeadLetter>();
    for (let i = 0; i < ids.length; i += PAGE) {
      const chunk = ids.slice(i, i + PAGE);
      if (chunk.length === 0) continue;
      const records = await this.redis.hmgetBuffer(this.keys.deadLetters, ...chunk.map(String));
      chunk.forEach((id, k) => {
        const record = records[k];
        const letter = record ? decodeDeadLetter(id, record) : undefined;
        if (letter) found.set(id, letter);
      });
    }
    return found;
  }

  /** The retention stored in the prefix's shared settings (ms), if a processor has stored it. */
  async retentionMs(): Promise<number | undefined> {
    const text = await this.redis.hget(this.keys.settings, 'retentionMs');
    const ms = Number(text);
    return text !== null && Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
  }
}

/** How many (member, score) pairs at the end of `flat` have score `score`. */
function countFromEnd(flat: readonly string[], score: number): number {
  let n = 0;
  for (let i = flat.length - 1; i > 0 && Number(flat[i]) === score; i -= 2) n++;
  return n;
}
