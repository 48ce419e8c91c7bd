/**
 * A dead letter as stored: a one-line JSON header, a newline, then the queue element exactly as
 * the processor claimed it (the envelope's header and the line's bytes, never decoded):
 *
 *     {"v":1,"reason":"unknown_value","message":"orders[0] \"Tea\" is not in the catalog","at":1795304356789,"replays":0,"envelope":true,"truncated":false,"bytes":74}
 *     {"v":2,"host":"shop-1","source":"/data/orders.jsonl","id":"3f0c…a1.0:1834","ingestedAt":1795304356700}
 *     {"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Tea"]}
 *
 * Records live in the hash `dead:letters` under a number (`dead:counters` field `seq` hands them
 * out), with a sorted set `dead:index` of `<id, 16 digits>:<reason>` scored by the time the letter was made,
 * so that letters are selected by time and reason without reading their bytes. Only the scripts
 * in `core/lua/` write them; `core/lua/includes/dead-letters.lua` is the Lua half of this module.
 */
import { type Envelope, parseEnvelope } from './envelope.js';

export const DEAD_LETTER_VERSION = 1;

/** Bytes of a line kept in its dead letter; a longer line keeps its head and cannot be replayed. */
export const DEAD_LETTER_LINE_BYTES = 4096;

/** Longest envelope header kept whole (the collector's are ~150 bytes); a longer one is cut with the line. */
export const DEAD_LETTER_HEADER_BYTES = 4096;

/** Dead letters kept per prefix unless `CREMA_DEAD_MAX` says otherwise; the oldest beyond are dropped. */
export const DEFAULT_DEAD_LETTER_MAX = 100_000;

/** The fields of a stored dead letter's header. */
export interface DeadLetterHeader {
  readonly v: number;
  /** Why the element was not counted (a `DeadLetterReason`, or `unknown` for a migrated one). */
  readonly reason: string;
  /** What exactly was wrong, for people. */
  readonly message: string;
  /** When the processor made the dead letter (epoch ms); its score in the index. */
  readonly at: number;
  /** How often the element had been replayed before it was dead-lettered this time. */
  readonly replays: number;
  /** Whether the element is a Crema envelope (else any bytes someone pushed to the queue). */
  readonly envelope: boolean;
  /** Whether the stored element lacks bytes of the original line: only then can it not be replayed. */
  readonly truncated: boolean;
  /** Length of the original line in bytes (of the whole element when it is not an envelope). */
  readonly bytes: number;
  /** Moved from the earlier format (a list of JSON): the line is that format's UTF-8 text, not the bytes read. */
  readonly legacy?: { readonly id: string | null; readonly source: string | null; readonly host: string | null };
}

/** One dead letter, as a commit stores it. */
export interface DeadLetterEntry {
  readonly reason: string;
  /** Epoch ms; the letter's score in the index. */
  readonly at: number;
  /** Header, newline, element: {@link encodeDeadLetter}. */
  readonly record: Buffer;
}

/** A stored dead letter, read back. */
export interface DeadLetter extends DeadLetterHeader {
  /** Its number in the store. */
  readonly id: number;
  /** The queue element as claimed (cut when {@link DeadLetterHeader.truncated}). */
  readonly element: Buffer;
  /** The element's envelope header, when it is an envelope whose header was kept whole. */
  readonly envelopeHeader?: Omit<Envelope, 'line'>;
  /** The line's bytes as kept: the element after the envelope header, or the whole element. */
  readonly line: Buffer;
}

const NEWLINE = 0x0a;

/** The record of a dead letter: its header as JSON, a newline, the element's bytes. */
export function encodeDeadLetter(header: DeadLetterHeader, element: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), element]);
}

/**
 * The dead letter of a queue element the processor refuses. `envelope` is the element parsed,
 * when it is one. The element is kept byte for byte, unless its line is longer than
 * {@link DEAD_LETTER_LINE_BYTES} (or its header longer than {@link DEAD_LETTER_HEADER_BYTES}):
 * then only its head is kept and the letter is marked truncated.
 */
export function deadLetterOf(element: Buffer, reason: string, message: string, at: number, envelope?: Envelope): DeadLetterEntry {
  let kept = element;
  let truncated: boolean;
  let bytes: number;
  const newline = envelope ? element.indexOf(NEWLINE) : -1;
  if (envelope && newline !== -1 && newline < DEAD_LETTER_HEADER_BYTES) {
    const lineBytes = element.length - newline - 1;
    if (lineBytes > DEAD_LETTER_LINE_BYTES) kept = element.subarray(0, newline + 1 + DEAD_LETTER_LINE_BYTES);
    // An oversize line reached the queue as its head already (the collector cut it).
    truncated = lineBytes > DEAD_LETTER_LINE_BYTES || envelope.oversize !== undefined;
    bytes = envelope.oversize ?? lineBytes;
  } else {
    if (element.length > DEAD_LETTER_LINE_BYTES) kept = element.subarray(0, DEAD_LETTER_LINE_BYTES);
    truncated = element.length > DEAD_LETTER_LINE_BYTES;
    bytes = envelope ? element.length - newline - 1 : element.length;
  }
  const header: DeadLetterHeader = {
    v: DEAD_LETTER_VERSION,
    reason,
    message,
    at,
    replays: replaysOf(envelope),
    envelope: envelope !== undefined,
    truncated,
    bytes,
  };
  return { reason, at, record: encodeDeadLetter(header, kept) };
}

/** An envelope's replay count, 0 unless it is a sane one. */
function replaysOf(envelope: Envelope | undefined): number {
  const replays = envelope?.replays;
  return replays !== undefined && Number.isSafeInteger(replays) && replays >= 0 && replays < 1e9 ? replays : 0;
}

/** A stored record read back; undefined when it is not one. */
export function decodeDeadLetter(id: number, record: Buffer): DeadLetter | undefined {
  const newline = record.indexOf(NEWLINE);
  if (newline === -1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.subarray(0, newline).toString());
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const h = parsed as Record<string, unknown>;
  if (typeof h.reason !== 'string' || typeof h.at !== 'number') return undefined;
  const element = record.subarray(newline + 1);
  let envelopeHeader: Omit<Envelope, 'line'> | undefined;
  let line = element;
  const lineAt = element.indexOf(NEWLINE);
  if (h.envelope === true && lineAt !== -1) {
    const parsedEnvelope = parseEnvelope(element.subarray(0, lineAt + 1).toString());
    if (parsedEnvelope) {
      const { line: _empty, ...rest } = parsedEnvelope;
      envelopeHeader = rest;
      line = element.subarray(lineAt + 1);
    }
  }
  const legacy = typeof h.legacy === 'object' && h.legacy !== null ? (h.legacy as Record<string, unknown>) : undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    id,
    v: typeof h.v === 'number' ? h.v : DEAD_LETTER_VERSION,
    reason: h.reason,
    message: typeof h.message === 'string' ? h.message : '',
    at: h.at,
    replays: typeof h.replays === 'number' ? h.replays : 0,
    envelope: h.envelope === true,
    truncated: h.truncated === true,
    bytes: typeof h.bytes === 'number' ? h.bytes : line.length,
    ...(legacy ? { legacy: { id: text(legacy.id), source: text(legacy.source), host: text(legacy.host) } } : {}),
    element,
    ...(envelopeHeader ? { envelopeHeader } : {}),
    line,
  };
}

/** Why a stored dead letter cannot be replayed; undefined when it can. The replay script checks the same. */
export function notReplayable(letter: Pick<DeadLetter, 'envelope' | 'truncated' | 'legacy' | 'envelopeHeader'>): string | undefined {
  if (letter.legacy) return 'stored by an earlier version, without its envelope';
  if (!letter.envelope || !letter.envelopeHeader) return 'not a Crema envelope';
  if (letter.truncated) return `only the first ${DEAD_LETTER_LINE_BYTES} bytes of the line were kept`;
  return undefined;
}

/**
 * The index member of a dead letter: `<id>:<reason>`, the id zero-padded to 16 digits so that
 * letters of one millisecond (a whole batch has one time) sort, and are trimmed, by number.
 */
export function deadLetterMember(id: number, reason: string): string {
  return `${String(id).padStart(16, '0')}:${reason}`;
}

/** A member of the index, split; undefined when it is not one. */
export function parseDeadLetterMember(member: string): { id: number; reason: string } | undefined {
  const colon = member.indexOf(':');
  const id = Number(member.slice(0, colon));
  if (colon <= 0 || !Number.isSafeInteger(id)) return undefined;
  return { id, reason: member.slice(colon + 1) };
}
