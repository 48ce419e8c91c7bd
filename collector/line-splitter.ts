/**
 * Cuts bytes read from a file into whole lines, with their byte offsets. A partial last line
 * waits for more bytes; a line longer than the maximum is reported with its head and length
 * instead of being held in memory.
 */

/** Bytes of an oversize line kept for its dead letter. */
export const OVERSIZE_HEAD_BYTES = 4096;

export interface LineSink {
  /**
   * A whole line starting at file `offset`: bytes `start`…`end` of `buffer` (without its newline
   * or a trailing carriage return). The bytes are valid only during the call.
   */
  line(offset: number, buffer: Buffer, start: number, end: number): void;
  /** A line of `bytes` bytes (newline excluded) over the maximum, starting at `offset`; `head` holds its first bytes. */
  oversize(offset: number, head: Buffer, bytes: number): void;
}

export class LineSplitter {
  private readonly buffer: Buffer;
  /** File offset of buffer[0]. */
  private base: number;
  private start = 0;
  private end = 0;
  /** An oversize line being skipped: where it started, its head, and bytes seen so far. */
  private skipping: { offset: number; head: Buffer; bytes: number } | undefined;

  constructor(
    private readonly maxLineBytes: number,
    offset: number,
    readChunkBytes = 1024 * 1024,
  ) {
    this.base = offset;
    this.buffer = Buffer.allocUnsafe(maxLineBytes + readChunkBytes + 2);
  }

  /** File offset just after the last byte handed to a sink: where an uncommitted restart would resume. */
  get consumedOffset(): number {
    return this.skipping ? this.skipping.offset : this.base + this.start;
  }

  /** File offset just after the last byte read into the buffer. */
  get readOffset(): number {
    return this.base + this.end;
  }

  /**
   * Emits complete lines from the buffer into `sink`, at most `maxLines`. Returns how many it emitted.
   */
  drain(sink: LineSink, maxLines: number): number {
    let emitted = 0;
    const buffer = this.buffer;
    // A view that ends at the data, so the newline search never reads stale bytes.
    const data = buffer.subarray(0, this.end);
    while (emitted < maxLines && this.start < this.end) {
      const newline = data.indexOf(10, this.start);
      if (newline === -1) {
        this.absorbPartial();
        break;
      }
      if (this.skipping) {
        const skipped = this.skipping;
        this.skipping = undefined;
        sink.oversize(skipped.offset, skipped.head, skipped.bytes + (newline - this.start));
      } else if (newline - this.start > this.maxLineBytes) {
        sink.oversize(this.base + this.start, this.head(this.start, newline), newline - this.start);
      } else {
        const stop = newline > this.start && buffer[newline - 1] === 13 ? newline - 1 : newline;
        sink.line(this.base + this.start, buffer, this.start, stop);
      }
      emitted++;
      this.start = newline + 1;
    }
    return emitted;
  }

  /** Room left for the next read, after moving unconsumed bytes to the front. */
  prepareRead(): { buffer: Buffer; at: number; length: number; position: number } {
    if (this.start > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    return { buffer: this.buffer, at: this.end, length: this.buffer.length - this.end, position: this.base + this.end };
  }

  /** Records that `bytes` were read into the place {@link prepareRead} offered. */
  commitRead(bytes: number): void {
    this.end += bytes;
  }

  /** A partial line with no newline yet: keep waiting, or start skipping once it is over the maximum. */
  private absorbPartial(): void {
    const pending = this.end - this.start;
    if (this.skipping) {
      this.skipping.bytes += pending;
      this.start = this.end;
    } else if (pending > this.maxLineBytes) {
      this.skipping = { offset: this.base + this.start, head: this.head(this.start, this.end), bytes: pending };
      this.start = this.end;
    }
  }

  private head(from: number, to: number): Buffer {
    return Buffer.from(this.buffer.subarray(from, Math.min(to, from + OVERSIZE_HEAD_BYTES)));
  }
}
