/** One live-stream client: a response written as Server-Sent Events, with a bounded buffer. */
import type { ServerResponse } from 'node:http';

/** Why the server ended a client's stream. */
export type DropReason = 'slow';

export class SseClient {
  private held: Buffer[] | undefined = [];
  private heldBytes = 0;
  private ended = false;
  /** State events whose latest frame is still queued, and its size: not held against the client. */
  private readonly queuedState = new Map<string, number>();
  private queuedStateBytes = 0;

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

  /**
   * Writes the newest frame of a state event (such as the firing alerts). A state frame replaces
   * the one before, so the newest one of each event is not counted against the client's buffer:
   * a large state never makes a client "slow". A client that has not taken the previous frame of
   * the same event yet is behind, and this one counts. While held, nothing is written:
   * {@link release} sends the current states.
   */
  sendState(event: string, frame: Buffer): void {
    if (this.closed || this.held) return;
    this.writeState(event, frame);
  }

  /** Writes `hello`, the current `states`, `rest`, then the frames that waited while the client was held. */
  release(hello: string, states: ReadonlyMap<string, Buffer> = new Map(), rest = ''): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    if (this.closed) return;
    // One segment on the wire for what is written now.
    this.res.cork();
    this.write(Buffer.from(hello));
    for (const [event, frame] of states) this.writeState(event, frame);
    if (rest !== '' || held.length > 0) this.write(Buffer.concat([Buffer.from(rest), ...held]));
    process.nextTick(() => this.res.uncork());
  }

  /** Ends the stream politely (server shutdown). */
  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.res.end();
  }

  private write(frame: Buffer): void {
    if (this.closed) return;
    this.res.write(frame);
    this.checkBacklog();
  }

  private writeState(event: string, frame: Buffer): void {
    if (this.closed) return;
    const exempt = !this.queuedState.has(event);
    if (exempt) {
      this.queuedState.set(event, frame.length);
      this.queuedStateBytes += frame.length;
    }
    // Called once the socket took the frame (or failed to: then the client is gone anyway).
    this.res.write(frame, () => {
      if (!exempt) return;
      this.queuedState.delete(event);
      this.queuedStateBytes -= frame.length;
    });
    this.checkBacklog();
  }

  private checkBacklog(): void {
    // Node queues what the socket cannot take yet; that queue is the client's buffer. Past the
    // bound the client is not keeping up, and waiting for it would hold its memory (never the
    // others' delivery: a write never blocks), so it goes. The newest state frames are not
    // part of that backlog: at most one per state event is ever exempt.
    if (this.res.writableLength - this.queuedStateBytes > this.maxBufferBytes) this.drop('slow');
  }

  private drop(reason: DropReason): void {
    if (this.ended) return;
    this.ended = true;
    this.held = undefined;
    this.res.destroy();
    this.onDrop(reason);
  }
}
