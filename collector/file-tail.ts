/**
 * One open file being read: turns its new whole lines into batches of envelopes, each batch
 * carrying the read position it starts at and the one it moves to.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { EnvelopeFramer } from '../core/envelope.js';
import type { EncodedEnvelopes } from '../core/scripts.js';
import { EnvelopeBatch } from './envelope-batch.js';
import { type FileIdentity, fileKey, identityOf, sameFile } from './file-identity.js';
import { LineSplitter, type LineSink } from './line-splitter.js';
import { type Position, formatPosition } from './position.js';

/** Envelopes to push atomically together with the move of one file's read position. */
export interface Batch {
  readonly tail: FileTail;
  /** Stored position the batch starts at (compare-and-set). */
  readonly expected: string;
  /** Position after the batch. */
  readonly next: string;
  readonly nextPosition: Position;
  /** The envelopes, encoded for the push (see {@link EnvelopeBatch}). */
  readonly envelopes: EncodedEnvelopes;
  /** How many envelopes the batch holds. */
  readonly count: number;
  /** Recycles the batch's buffer; only after Redis acknowledged the push. */
  release(): void;
  /** Bytes of the file the batch covers. */
  readonly bytes: number;
}

export interface TailOptions {
  readonly host: string;
  /** The followed path the file was found at (its envelopes' `source`). */
  readonly source: string;
  readonly maxLineBytes: number;
}

export class FileTail {
  readonly key: string;
  private splitter: LineSplitter;
  private framer: EnvelopeFramer;
  private framerGeneration: number;
  /** Position after the last batch handed out: where the next batch starts. */
  private framed: Position;
  /** Position Redis has acknowledged. */
  private committedPosition: Position;
  /** When the file last gave new bytes (ms). */
  lastGrowthAt = Date.now();
  /** The last read found no whole line left. */
  private reachedEnd = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly identity: FileIdentity,
    /** Where the file was when opened; a rotated file may since have moved. */
    readonly path: string,
    private readonly options: TailOptions,
    position: Position,
  ) {
    this.key = fileKey(identity);
    this.framed = position;
    this.committedPosition = position;
    this.splitter = new LineSplitter(options.maxLineBytes, position.offset);
    this.framerGeneration = position.generation;
    this.framer = this.framerFor(position.generation);
  }

  /**
   * Opens the file known by `identity` at `path`; undefined when the file at `path` is another one
   * or none. A path names a file only until the next rename: the identity comes from an earlier
   * stat, and a rotation in between puts the next file at the path. Reading that one under this
   * identity's key and position would frame its lines as this file's.
   */
  static async open(path: string, identity: FileIdentity, position: Position, options: TailOptions): Promise<FileTail | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!sameFile(identityOf(await handle.stat()), identity)) {
      await handle.close();
      return undefined;
    }
    return new FileTail(handle, identity, path, options, position);
  }

  get source(): string {
    return this.options.source;
  }

  get committed(): Position {
    return this.committedPosition;
  }

  /**
   * Whether the file is read to its end and Redis acknowledged all of it: the last read found no
   * whole line left (a partial last line waits for its newline) and no batch is unacknowledged.
   */
  get caughtUp(): boolean {
    return this.reachedEnd && this.framed.generation === this.committedPosition.generation && this.framed.offset === this.committedPosition.offset;
  }

  /** Reads the next batch of at most `maxLines` envelopes; undefined when no whole line is new. */
  async nextBatch(maxLines: number, now: number): Promise<Batch | undefined> {
    const batch = EnvelopeBatch.pooled();
    const framer = this.framer;
    const head = framer.headBytes;
    const tail = Buffer.from(EnvelopeFramer.tail(now), 'latin1');
    const sink: LineSink = {
      line: (offset, buffer, start, end) => batch.addFramed(head, offset, tail, buffer, start, end),
      oversize: (offset, head, bytes) => batch.add(framer.oversizeHeader(offset, now, bytes), head, 0, head.length),
    };
    let emitted = this.splitter.drain(sink, maxLines);
    while (emitted < maxLines) {
      const room = this.splitter.prepareRead();
      const { bytesRead } = await this.handle.read(room.buffer, room.at, room.length, room.position);
      if (bytesRead === 0) break;
      this.lastGrowthAt = now;
      this.splitter.commitRead(bytesRead);
      emitted += this.splitter.drain(sink, maxLines - emitted);
    }
    this.reachedEnd = emitted === 0;
    if (emitted === 0) {
      batch.release();
      return undefined;
    }
    return this.batch(batch, { generation: this.framed.generation, offset: this.splitter.consumedOffset });
  }

  /**
   * The file shrank below what was read (copytruncate): a batch with no envelopes that moves the
   * stored position to the start of a new generation, from where reading goes on.
   */
  truncationBatch(): Batch {
    const next = { generation: this.framed.generation + 1, offset: 0 };
    const batch = this.batch(new EnvelopeBatch(16), next);
    this.restartAt(next);
    return batch;
  }

  /** Redis stored the batch. */
  acknowledge(batch: Batch): void {
    this.committedPosition = batch.nextPosition;
  }

  /** Forgets everything read after `position` and reads again from there (after a failed push). */
  restartAt(position: Position): void {
    if (position.generation !== this.framerGeneration) {
      this.framerGeneration = position.generation;
      this.framer = this.framerFor(position.generation);
    }
    this.framed = position;
    this.committedPosition = position;
    this.reachedEnd = false;
    this.splitter = new LineSplitter(this.options.maxLineBytes, position.offset);
  }

  /** Current size of the file. */
  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  /** Whether the file is now shorter than what was read of it. */
  async wasTruncated(): Promise<boolean> {
    return (await this.size()) < this.splitter.readOffset;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private batch(envelopes: EnvelopeBatch, next: Position): Batch {
    const expected = this.framed;
    this.framed = next;
    return {
      tail: this,
      expected: formatPosition(expected),
      next: formatPosition(next),
      nextPosition: next,
      envelopes: envelopes.encoded(),
      count: envelopes.count,
      release: () => envelopes.release(),
      bytes: next.generation === expected.generation ? next.offset - expected.offset : 0,
    };
  }

  private framerFor(generation: number): EnvelopeFramer {
    return new EnvelopeFramer(this.options.host, this.options.source, `${this.key}.${generation}`);
  }
}
