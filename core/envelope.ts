/**
 * The envelope: one element of the queue. The collector frames a raw line into it,
 * the processor parses it back. Field `line` stays last so framing is a string concat.
 */

export const ENVELOPE_VERSION = 1;

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
  /** The raw line (or the head of an oversize line), without its newline. */
  readonly line: string;
}

/** Id of the line at `offset` of the file known by `fileKey`. */
export function envelopeId(fileKey: string, offset: number): string {
  return `${fileKey}:${offset}`;
}

/** Frames lines of one file; precomputes the constant part of every envelope. */
export class EnvelopeFramer {
  private readonly head: string;

  constructor(host: string, source: string, fileKey: string) {
    this.head = `{"v":${ENVELOPE_VERSION},"host":${JSON.stringify(host)},"source":${JSON.stringify(source)},"id":${JSON.stringify(`${fileKey}:`).slice(0, -1)}`;
  }

  /** Envelope for a whole line that starts at byte `offset`. */
  frame(offset: number, ingestedAt: number, line: string): string {
    return `${this.head}${offset}","ingestedAt":${ingestedAt},"line":${JSON.stringify(line)}}`;
  }

  /** Envelope for a line longer than allowed: keeps its head and its real length. */
  frameOversize(offset: number, ingestedAt: number, head: string, bytes: number): string {
    return `${this.head}${offset}","ingestedAt":${ingestedAt},"oversize":${bytes},"line":${JSON.stringify(head)}}`;
  }
}

/** Parses a queue element; returns undefined if it is not a well-formed envelope. */
export function parseEnvelope(raw: string): Envelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Record<string, unknown>;
  if (
    e.v !== ENVELOPE_VERSION ||
    typeof e.id !== 'string' ||
    typeof e.host !== 'string' ||
    typeof e.source !== 'string' ||
    typeof e.ingestedAt !== 'number' ||
    typeof e.line !== 'string' ||
    (e.oversize !== undefined && typeof e.oversize !== 'number')
  ) {
    return undefined;
  }
  return e as unknown as Envelope;
}
