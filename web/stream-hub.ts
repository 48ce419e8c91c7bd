/**
 * The live stream: one Redis subscription to the stats channel per process, relayed to every
 * connected client as Server-Sent Events. With several shards it subscribes to every shard's
 * channel (sharded pub/sub, served by the node that holds the shard); a shard's message carries
 * only its part of a window, so the hub reads the window summed over every shard and relays that.
 *
 * Each relayed window gets an id `<epoch>.<sequence>`; the last {@link StreamHubOptions.replaySize}
 * events are kept so a client that reconnects with `Last-Event-ID` gets exactly what it missed.
 * A client that cannot be resumed (another server process, or too far behind) is told so in its
 * `hello` event and refetches the history; every new client gets the current window first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedisClient } from '../core/redis.js';
import { Backoff, sleep } from '../core/backoff.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { connectRedis, isAnswering, isPermissionError, onAnsweringChange } from '../core/redis.js';
import { type HelloEvent, STREAM_EVENTS, type StatusEvent, type WindowSnapshot } from './api-types.js';
import type { WindowHistory } from './history.js';
import { SseClient } from './sse-client.js';
import { formatEventId, parseEventId, sseComment, sseFrame, sseRetry } from './sse.js';

export interface StreamHubOptions {
  /** A connection of its own: a subscribed connection can do nothing else. */
  readonly subscriber: RedisClient;
  /** The channels to follow, and how; {@link StreamHub.follow} changes them. */
  readonly channels: StreamChannels;
  readonly history: WindowHistory;
  /** The window size from the shared settings; undefined until a processor has stored them. */
  readonly windowMs: () => number | undefined;
  /** Unsent bytes one client may have queued before it is dropped. */
  readonly bufferBytes: number;
  readonly heartbeatMs: number;
  readonly maxClients: number;
  /** Events kept for resuming clients. @defaultValue 1024 */
  readonly replaySize?: number;
  /** What EventSource waits before reconnecting. @defaultValue 1000 */
  readonly retryMs?: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** The stats channels of a prefix: one, or one per shard. */
export interface StreamChannels {
  readonly names: readonly string[];
  /** `SSUBSCRIBE` (Redis 7's sharded pub/sub) instead of `SUBSCRIBE`. */
  readonly sharded: boolean;
  /** Whether a message holds one shard's part of a window, to be read again summed over every shard. */
  readonly partial: boolean;
}

/** How long a new client's hello waits for the current window. */
const SNAPSHOT_WAIT_MS = 2000;

interface Relayed {
  readonly seq: number;
  readonly frame: Buffer;
}

export class StreamHub {
  // Ids of another process (a restarted server) never match, so its clients refetch history.
  private readonly epoch = Date.now().toString(36);
  private seq = 0;
  private readonly replay: Relayed[] = [];
  private readonly clients = new Set<SseClient>();
  /** The newest frame of each state event, sent to every new client after its hello. */
  private readonly states = new Map<string, Buffer>();
  private readonly stopping = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private subscribing: Promise<void> | undefined;
  private started = false;
  private redisUp = false;
  private everSubscribed = false;
  /** Subscribed on the subscriber's current connection (after a reconnect, the hub subscribes again itself). */
  private subscribedHere = false;
  private channels: StreamChannels;
  private channelNames: ReadonlySet<string>;
  /** Windows whose merged read is under way, and whether another shard's message asked for it again meanwhile. */
  private readonly merging = new Map<number, boolean>();

  constructor(private readonly options: StreamHubOptions) {
    this.channels = options.channels;
    this.channelNames = new Set(options.channels.names);
  }

  /**
   * Follows other channels from now on (the shard count stored for the prefix differs from the
   * one this server started with): leaves the old ones and subscribes to the new.
   */
  follow(channels: StreamChannels): void {
    const same = channels.sharded === this.channels.sharded && channels.partial === this.channels.partial && channels.names.join('\n') === this.channels.names.join('\n');
    if (same) return;
    const old = this.channels;
    this.channels = channels;
    this.channelNames = new Set(channels.names);
    const { subscriber } = this.options;
    if (this.subscribedHere) this.leave(old);
    this.subscribedHere = false;
    if (subscriber.status === 'ready') this.resubscribe();
  }

  /** Number of connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Whether the subscription is live: subscribed, and Redis answers. */
  get subscribed(): boolean {
    return this.everSubscribed && this.redisUp;
  }

  /**
   * Subscribes (retrying in the background until Redis answers, and again after every reconnect)
   * and starts the heartbeat.
   */
  start(): void {
    const { subscriber } = this.options;
    if (this.started) return;
    this.started = true;
    const onMessage = (channel: string, text: string) => {
      if (this.channelNames.has(channel)) this.receive(channel, text);
    };
    subscriber.on('message', onMessage);
    subscriber.on('smessage', onMessage);
    subscriber.on('ready', () => this.resubscribe());
    subscriber.on('close', () => {
      this.subscribedHere = false;
      this.setRedis(false);
    });
    // A Redis that hangs keeps the connection open: the page hears `down` as for an outage.
    onAnsweringChange(subscriber, (answering) => this.setRedis(answering && this.subscribedHere));
    if (subscriber.status === 'ready') this.resubscribe();
    else connectRedis(subscriber, this.stopping.signal).catch(() => {});
    this.heartbeat = setInterval(() => this.broadcast(Buffer.from(sseComment(String(Date.now())))), this.options.heartbeatMs);
  }

  /** Serves one `GET /api/stream` request until the client leaves or the hub closes. */
  connect(req: IncomingMessage, res: ServerResponse, lastEventId: string | undefined): void {
    const { metrics, log } = this.options;
    if (this.stopping.signal.aborted || this.clients.size >= this.options.maxClients) {
      metrics.web.droppedClients.inc({ reason: 'full' });
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: 'too many live-stream clients; retry later' }));
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      connection: 'keep-alive',
      // Nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    const client = new SseClient(res, this.options.bufferBytes, (reason) => {
      metrics.web.droppedClients.inc({ reason });
      log.info({ reason, clients: this.clients.size - 1 }, 'live-stream client dropped');
    });
    this.clients.add(client);
    metrics.web.streamClients.set(this.clients.size);
    res.on('close', () => {
      this.clients.delete(client);
      metrics.web.streamClients.set(this.clients.size);
    });

    const missed = this.missedSince(lastEventId);
    const hello = (resumed: boolean) =>
      sseRetry(this.options.retryMs ?? 1000) +
      sseFrame(STREAM_EVENTS.hello, { resumed, windowMs: this.options.windowMs() ?? null, redis: this.redisUp ? 'up' : 'down' } satisfies HelloEvent);
    if (missed) {
      client.release(hello(true), this.states, Buffer.concat(missed.map((e) => e.frame)).toString());
      return;
    }
    // Live events wait behind the snapshot, so the client sees its window change in order.
    const asOf = formatEventId({ epoch: this.epoch, seq: this.seq });
    // A Redis that hangs would hold the hello back until it answers: the client hears `down` instead.
    const latest = Promise.race([this.options.history.latest(Date.now()), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), SNAPSHOT_WAIT_MS).unref())]);
    latest.then(
      (snapshot) => client.release(hello(false), this.states, snapshot ? sseFrame(STREAM_EVENTS.window, snapshot, asOf) : ''),
      () => client.release(hello(false), this.states),
    );
  }

  /**
   * Sends a state event (such as the firing alerts) to every client now, and to each new client
   * right after its hello. State events carry the whole state, so they are never replayed, and
   * the newest one never counts against a client's buffer (see {@link SseClient.sendState}).
   */
  setState(event: string, data: unknown): void {
    const frame = Buffer.from(sseFrame(event, data));
    this.states.set(event, frame);
    for (const client of this.clients) client.sendState(event, frame);
  }

  /** Ends every stream and the subscription. Idempotent. */
  readonly close = once(async () => {
    this.stopping.abort();
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.options.metrics.web.streamClients.set(0);
    await this.subscribing;
  });

  /** Events after `lastEventId`, or undefined when that id cannot be resumed from here. */
  private missedSince(lastEventId: string | undefined): Relayed[] | undefined {
    const id = parseEventId(lastEventId);
    if (!id || id.epoch !== this.epoch || id.seq > this.seq) return undefined;
    const oldest = this.replay[0]?.seq ?? this.seq + 1;
    if (id.seq < oldest - 1) return undefined;
    return this.replay.filter((e) => e.seq > id.seq);
  }

  private receive(channel: string, text: string): void {
    let snapshot: WindowSnapshot;
    try {
      snapshot = JSON.parse(text) as WindowSnapshot;
    } catch {
      this.options.log.warn({ channel }, 'ignored a stats message that is not JSON');
      return;
    }
    if (typeof snapshot !== 'object' || snapshot === null || !Number.isFinite(snapshot.start)) {
      this.options.log.warn({ channel }, 'ignored a stats message that is not a window');
      return;
    }
    if (this.channels.partial) this.relayMerged(snapshot.start);
    else this.relay(snapshot);
  }

  /**
   * Reads the window summed over every shard and relays it. Messages for a window whose read is
   * under way ask for one more read after it, so the last relayed snapshot is never older than
   * the last message.
   */
  private relayMerged(start: number): void {
    if (this.merging.has(start)) {
      this.merging.set(start, true);
      return;
    }
    this.merging.set(start, false);
    this.options.history
      .window(start)
      .then(
        (merged) => {
          if (merged && !this.stopping.signal.aborted) this.relay(merged);
        },
        (error: unknown) => this.options.log.warn({ window: start, err: (error as Error).message }, 'cannot read a window for the live stream'),
      )
      .finally(() => {
        const again = this.merging.get(start);
        this.merging.delete(start);
        if (again) this.relayMerged(start);
      });
  }

  /** Unsubscribes from channels no longer followed; a failure leaves only messages that are ignored. */
  private leave(channels: StreamChannels): void {
    const { subscriber } = this.options;
    const leaving = channels.sharded ? Promise.all(channels.names.map((name) => subscriber.sunsubscribe(name))) : subscriber.unsubscribe(...channels.names);
    leaving.catch(() => {});
  }

  private relay(snapshot: WindowSnapshot): void {
    const seq = ++this.seq;
    const frame = Buffer.from(sseFrame(STREAM_EVENTS.window, snapshot, formatEventId({ epoch: this.epoch, seq })));
    this.replay.push({ seq, frame });
    if (this.replay.length > (this.options.replaySize ?? 1024)) this.replay.shift();
    this.options.metrics.web.streamMessages.inc();
    this.broadcast(frame);
  }

  private broadcast(frame: Buffer): void {
    for (const client of this.clients) client.send(frame);
  }

  private setRedis(up: boolean): void {
    if (up === this.redisUp) return;
    this.redisUp = up;
    // Windows published while the subscription was down are lost; clients refetch on `up`.
    this.broadcast(Buffer.from(sseFrame(STREAM_EVENTS.status, { redis: up ? 'up' : 'down' } satisfies StatusEvent)));
  }

  private resubscribe(): void {
    const previous = this.subscribing;
    this.subscribing = (async () => {
      await previous;
      await this.subscribe();
    })();
  }

  /** Subscribes on the current connection, retrying while it stays ready; a refusal ends the process (runStages). */
  private async subscribe(): Promise<void> {
    const { subscriber, log } = this.options;
    const backoff = new Backoff();
    const signal = this.stopping.signal;
    let failure: string | undefined;
    while (!signal.aborted && subscriber.status === 'ready' && !this.subscribedHere) {
      try {
        const channels = this.channels;
        // Each shard's channel lives on the node that holds the shard: one SSUBSCRIBE per channel.
        if (channels.sharded) for (const name of channels.names) await subscriber.ssubscribe(name);
        else await subscriber.subscribe(...channels.names);
        if (channels !== this.channels) {
          // Followed other channels meanwhile: leave these, subscribe to those.
          this.leave(channels);
          continue;
        }
        this.subscribedHere = true;
        if (!this.everSubscribed) log.info({ channel: channels.names.length === 1 ? channels.names[0] : channels.names }, 'live stream subscribed');
        this.everSubscribed = true;
        this.setRedis(isAnswering(subscriber));
        return;
      } catch (error) {
        if (signal.aborted || isPermissionError(error)) return;
        const message = (error as Error).message;
        if (failure !== message) log.warn({ err: message }, 'live stream cannot subscribe yet; retrying');
        failure = message;
        await sleep(backoff.next(), signal);
      }
    }
  }
}
