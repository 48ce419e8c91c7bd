/**
 * The envelope: one element of the queue. The collector frames a raw line into it, the
 * processor parses it back.
 *
 * Layout: a one-line JSON header, a newline, then the line's bytes exactly as read:
 *
 *     {"v":2,"host":"shop-1","source":"/data/orders.jsonl","id":"3f0c…a1.0:1834","ingestedAt":1795304356789}
 *     {"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Americano"]}
 *
 * The line is never escaped or re-encoded: framing copies bytes, and parsing reads a small header.
 * (A line holds no newline, so the first newline always ends the header.)
 */

export const ENVELOPE_VERSION = 2;

export interface Envelope {
  /** Format version. */
  readonly v: number;
  /** Deterministic id: file key and byte offset of the line, so a replay can be recognised. */
  readonly id: string;
  /** Host that read the line. */
  readonly host: string;
  /** Path of the source the line was read from. */
  readonly source: string;
  /** When the collector read the line (epoch ms). */
  readonly ingestedAt: number;
  /** Byte length of a line that was longer than the collector's maximum; `line` then holds its head. */
  readonly oversize?: number;
  /** How often `crema dead replay` has put this envelope back on the queue (absent: never). */
  readonly replays?: number;
  /** The raw line (or the head of an oversize line), without its newline. */
  readonly line: string;
}

/** Id of the line at `offset` of the file known by `fileKey`. */
export function envelopeId(fileKey: string, offset: number): string {
  return `${fileKey}:${offset}`;
}

/** Builds the headers of one file's envelopes; the constant part is encoded once. */
export class EnvelopeFramer {
  private readonly head: string;
  /** {@link head} as UTF-8 bytes, copied into batches as is. */
  readonly headBytes: Buffer;

  constructor(host: string, source: string, fileKey: string) {
    // Ends inside the id string: `…,"id":"<fileKey>:` — the offset completes it.
    this.head = `{"v":${ENVELOPE_VERSION},"host":${JSON.stringify(host)},"source":${JSON.stringify(source)},"id":${JSON.stringify(`${fileKey}:`).slice(0, -1)}`;
    this.headBytes = Buffer.from(this.head);
  }

  /** What follows the offset in every header of a batch read at `ingestedAt` (ASCII). */
  static tail(ingestedAt: number): string {
    return `","ingestedAt":${ingestedAt}}\n`;
  }

  /** Header (with its newline) of the line that starts at byte `offset`. */
  header(offset: number, ingestedAt: number): string {
    return `${this.head}${offset}${EnvelopeFramer.tail(ingestedAt)}`;
  }

  /** Header of a line longer than allowed, whose head follows; `bytes` is its real length. */
  oversizeHeader(offset: number, ingestedAt: number, bytes: number): string {
    return `${this.head}${offset}","ingestedAt":${ingestedAt},"oversize":${bytes}}\n`;
  }

  /** A whole envelope as a string (tests and tools; the collector writes bytes). */
  frame(offset: number, ingestedAt: number, line: string): string {
    return this.header(offset, ingestedAt) + line;
  }
}

/** Parses a queue element; returns undefined if it is not a well-formed envelope. */
export function parseEnvelope(raw: string): Envelope | undefined {
  const newline = raw.indexOf('\n');
  if (newline === -1) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.slice(0, newline));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null) return undefined;
  const h = header as Record<string, unknown>;
  if (
    h.v !== ENVELOPE_VERSION ||
    typeof h.id !== 'string' ||
    typeof h.host !== 'string' ||
    typeof h.source !== 'string' ||
    typeof h.ingestedAt !== 'number' ||
    (h.oversize !== undefined && typeof h.oversize !== 'number') ||
    (h.replays !== undefined && typeof h.replays !== 'number')
  ) {
    return undefined;
  }
  const envelope: { -readonly [K in keyof Envelope]: Envelope[K] } = {
    v: h.v,
    id: h.id,
    host: h.host,
    source: h.source,
    ingestedAt: h.ingestedAt,
    line: raw.slice(newline + 1),
  };
  // Assigned only when present (rare), so that the common envelope allocates nothing more.
  if (h.oversize !== undefined) envelope.oversize = h.oversize as number;
  if (h.replays !== undefined) envelope.replays = h.replays as number;
  return envelope;
}
