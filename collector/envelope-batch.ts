/**
 * Envelopes of one batch written into one buffer: each is a header followed by the line's bytes,
 * copied straight from the read buffer (no decoding, no escaping).
 */
export class EnvelopeBatch {
  private buffer: Buffer;
  private length = 0;
  private readonly ends: number[] = [];

  constructor(initialBytes = 256 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  get count(): number {
    return this.ends.length;
  }

  /** Appends one envelope: `header`, then bytes `start`…`end` of `source`. */
  add(header: string, source: Buffer, start: number, end: number): void {
    // A header is mostly ASCII; 3 bytes per character bounds any UTF-8 in host or path.
    this.reserve(header.length * 3 + (end - start));
    this.length += this.buffer.write(header, this.length, 'utf8');
    this.length += source.copy(this.buffer, this.length, start, end);
    this.ends.push(this.length);
  }

  /** The envelopes, as views into the batch's buffer. */
  envelopes(): Buffer[] {
    const views: Buffer[] = new Array(this.ends.length);
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      views[i] = this.buffer.subarray(start, this.ends[i]);
      start = this.ends[i]!;
    }
    return views;
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
