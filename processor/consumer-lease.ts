/**
 * A processor's lease: a fencing token with a TTL, renewed while the processor is alive.
 * Every claim and commit checks the token, so a processor that lost its lease can change nothing.
 */
import { randomUUID } from 'node:crypto';
import { LeaseLostError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { LeaseHold, Scripts } from '../core/scripts.js';

export class ConsumerLease {
  private hold: LeaseHold | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly scripts: Scripts,
    readonly consumer: string,
    readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** The lease as held now; throws {@link LeaseLostError} when it is not held. */
  get current(): LeaseHold {
    if (!this.hold) throw new LeaseLostError(this.consumer);
    return this.hold;
  }

  /** Takes the lease with a new token; returns how many envelopes this consumer had claimed before. */
  async acquire(): Promise<number> {
    const hold = { consumer: this.consumer, token: randomUUID(), leaseMs: this.leaseMs };
    const claimed = await this.scripts.acquireLease(hold);
    this.hold = hold;
    this.startHeartbeat();
    return claimed;
  }

  /** Gives the lease up; an uncommitted batch stays claimed until recovered. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    const hold = this.hold;
    if (!hold) return;
    this.hold = undefined;
    const left = await this.scripts.releaseLease(hold);
    if (left > 0) this.log.warn({ consumer: this.consumer, envelopes: left }, 'left an uncommitted batch for recovery');
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (!this.hold) return;
      this.scripts.renewLease(this.hold).catch((error: unknown) => {
        // Unreachable Redis: the processing loop notices and reconnects.
        if (error instanceof LeaseLostError) this.log.warn({ consumer: this.consumer }, 'lease lost at renewal');
      });
    }, Math.max(200, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }
}
