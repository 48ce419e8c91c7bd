/** One live-stream client: a response written as Server-Sent Events, with a bounded buffer. */
import type { ServerResponse } from 'node:http';

/** Why the server ended a client's stream. */
export type DropReason = 'slow';

export class SseClient {
  private held: Buffer[] | undefined = [];
  private heldBytes = 0;
  private ended = false;

  /**
   * @param res the response, headers not yet sent
   * @param maxBufferBytes unsent bytes allowed before the client counts as stalled and is dropped
   * @param onDrop called once when the server drops the client
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly maxBufferBytes: number,
    private readonly onDrop: (reason: DropReason) => void,
  ) {}

  get closed(): boolean {
    return this.ended || this.res.destroyed;
  }

  /**
   * Queues or writes one frame (encoded once for all clients). While the client is held (before its first snapshot went out)
   * frames wait in memory, under the same bound.
   */
  send(frame: Buffer): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(frame);
      this.heldBytes += frame.length;
      if (this.heldBytes > this.maxBufferBytes) this.drop('slow');
      return;
    }
    this.write(frame);
  }

  /** Writes `first`, then the frames that waited while the client was held. */
  release(first: string): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    if (this.closed) return;
    this.write(Buffer.concat([Buffer.from(first), ...held]));
  }

  /** Ends the stream politely (server shutdown). */
  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.res.end();
  }

  private write(frame: Buffer): void {
    // Node queues what the socket cannot take yet; that queue is the client's buffer. Past the
    // bound the client is not keeping up, and waiting for it would hold its memory (never the
    // others' delivery: a write never blocks), so it goes.
    this.res.write(frame);
    if (this.res.writableLength > this.maxBufferBytes) this.drop('slow');
  }

  private drop(reason: DropReason): void {
    if (this.ended) return;
    this.ended = true;
    this.held = undefined;
    this.res.destroy();
    this.onDrop(reason);
  }
}
