/**
 * The envelopes of one batch, written straight into one buffer as the RESP bulk strings of an
 * `RPUSH` (`$<length>\r\n<envelope>\r\n` each): the push sends them as they are, in a MULTI/EXEC
 * with the position's compare-and-set (core/scripts.ts). Line bytes are copied from the read
 * buffer, never decoded or escaped, and no envelope passes through Lua, which hashes every byte of
 * every string it is handed (docs/benchmarks.md, "The push without Lua").
 */
import type { EncodedEnvelopes } from '../core/scripts.js';

const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
/** `$`, up to 10 length digits, CR LF before an envelope; CR LF after it. */
const FRAMING_BYTES = 1 + 10 + 2 + 2;
/**
 * Room kept before the envelopes for the command's own head (`*<n>`, `RPUSH`, the queue key), so
 * that the command is one contiguous view of the batch's buffer instead of a copy of it.
 */
const HEADROOM = 256;

/**
 * Batch buffers given back once Redis has acknowledged their batch, for the next batches: a new
 * buffer per batch (hundreds of MiB a second) kept the garbage collector busy a fifth of the time.
 */
const pool: Buffer[] = [];
const POOL_SIZE = 8;
const POOLED_BYTES = 1024 * 1024;

export class EnvelopeBatch {
  private buffer: Buffer;
  private length = HEADROOM;
  private elements = 0;
  /** Where the first and the last envelope's bytes are in {@link buffer}. */
  private firstAt = HEADROOM;
  private firstEnd = 0;
  private lastAt = 0;
  private lastEnd = 0;

  constructor(initialBytes = POOLED_BYTES, buffer?: Buffer) {
    this.buffer = buffer ?? Buffer.allocUnsafe(initialBytes);
  }

  /** A batch on a recycled buffer; call {@link release} once its push is acknowledged. */
  static pooled(): EnvelopeBatch {
    return new EnvelopeBatch(POOLED_BYTES, pool.pop());
  }

  /**
   * Gives the buffer back for reuse. Only once the push was acknowledged: until then the
   * connection may still be writing from it. The batch must not be used afterwards.
   */
  release(): void {
    if (pool.length < POOL_SIZE && this.buffer.length >= POOLED_BYTES) pool.push(this.buffer);
    this.buffer = Buffer.alloc(0);
  }

  get count(): number {
    return this.elements;
  }

  /**
   * Appends one envelope whose header is `head`, the decimal `offset` and `tail` (ASCII), then
   * bytes `start`…`end` of `source`: the hot path, with no string built per line.
   */
  addFramed(head: Buffer, offset: number, tail: Buffer, source: Buffer, start: number, end: number): void {
    const offsetDigits = decimalDigits(offset);
    const size = head.length + offsetDigits + tail.length + (end - start);
    this.reserve(FRAMING_BYTES + size);
    let at = this.open(size);
    const envelope = at;
    at += head.copy(this.buffer, at);
    at = writeDecimal(this.buffer, at, offset, offsetDigits);
    at += tail.copy(this.buffer, at);
    at += source.copy(this.buffer, at, start, end);
    this.close(envelope, at);
  }

  /** Appends one envelope: `header`, then bytes `start`…`end` of `source`. */
  add(header: string, source: Buffer, start: number, end: number): void {
    const headerBytes = Buffer.byteLength(header);
    const size = headerBytes + (end - start);
    this.reserve(FRAMING_BYTES + size);
    let at = this.open(size);
    const envelope = at;
    at += this.buffer.write(header, at, 'utf8');
    at += source.copy(this.buffer, at, start, end);
    this.close(envelope, at);
  }

  /** The batch for the push: views into the batch's buffer. */
  encoded(): EncodedEnvelopes {
    const { buffer, length } = this;
    return {
      count: this.elements,
      bulks: buffer.subarray(HEADROOM, length),
      prefixed: (prefix) => {
        if (prefix.length > HEADROOM) return Buffer.concat([prefix, buffer.subarray(HEADROOM, length)]);
        prefix.copy(buffer, HEADROOM - prefix.length);
        return buffer.subarray(HEADROOM - prefix.length, length);
      },
      first: this.elements > 0 ? this.buffer.subarray(this.firstAt, this.firstEnd) : undefined,
      last: this.elements > 0 ? this.buffer.subarray(this.lastAt, this.lastEnd) : undefined,
    };
  }

  /** Writes `$<size>\r\n`; returns where the envelope starts. */
  private open(size: number): number {
    let at = this.length;
    this.buffer[at++] = DOLLAR;
    at = writeDecimal(this.buffer, at, size, decimalDigits(size));
    this.buffer[at++] = CR;
    this.buffer[at++] = LF;
    return at;
  }

  private close(envelope: number, end: number): void {
    this.buffer[end] = CR;
    this.buffer[end + 1] = LF;
    this.length = end + 2;
    if (this.elements === 0) {
      this.firstAt = envelope;
      this.firstEnd = end;
    }
    this.lastAt = envelope;
    this.lastEnd = end;
    this.elements++;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

function decimalDigits(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes the `digits` decimal digits of a whole number ≥ 0 at `at`; returns the end. */
function writeDecimal(buffer: Buffer, at: number, n: number, digits: number): number {
  const end = at + digits;
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    buffer[i] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return end;
}

/** Reads encoded envelopes back (for tests and tools; Redis does this in production). */
export function decodeEnvelopes(bulks: Buffer): Buffer[] {
  const envelopes: Buffer[] = [];
  let at = 0;
  while (at < bulks.length) {
    if (bulks[at] !== DOLLAR) throw new Error(`no bulk string at byte ${at}`);
    const lineEnd = bulks.indexOf('\r\n', at);
    const size = Number(bulks.toString('latin1', at + 1, lineEnd));
    const start = lineEnd + 2;
    envelopes.push(bulks.subarray(start, start + size));
    at = start + size + 2;
  }
  return envelopes;
}
