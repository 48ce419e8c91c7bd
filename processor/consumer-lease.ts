/**
 * A processor's lease: a fencing token with a TTL, renewed while the processor is alive.
 * Every claim and commit checks the token, so a processor that lost its lease can change nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LeaseLostError } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';

export class ConsumerLease {
  private currentToken = '';
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly consumer: string,
    readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  get token(): string {
    return this.currentToken;
  }

  /** Takes the lease with a new token. */
  async acquire(): Promise<void> {
    const token = randomUUID();
    await this.redis.acquireLease(
      this.keys.lease(this.consumer),
      this.keys.consumers,
      this.keys.processing(this.consumer),
      token,
      this.leaseMs,
      this.consumer,
    );
    this.currentToken = token;
    this.startHeartbeat();
  }

  /** Gives the lease up; an uncommitted batch stays claimed until recovered. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    if (!this.currentToken) return;
    const left = await this.redis.releaseLease(
      this.keys.lease(this.consumer),
      this.keys.processing(this.consumer),
      this.keys.consumers,
      this.currentToken,
      this.consumer,
    );
    this.currentToken = '';
    if (left > 0) this.log.warn({ consumer: this.consumer, envelopes: left }, 'left an uncommitted batch for recovery');
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  lost(): LeaseLostError {
    return new LeaseLostError(this.consumer);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      this.redis.renewLease(this.keys.lease(this.consumer), this.currentToken, this.leaseMs).then(
        (code) => {
          if (code !== 0) this.log.warn({ consumer: this.consumer }, 'lease lost at renewal');
        },
        () => {
          // Redis unreachable: the processing loop notices and reconnects.
        },
      );
    }, Math.max(200, Math.floor(this.leaseMs / 3)));
    this.heartbeat.unref();
  }
}
