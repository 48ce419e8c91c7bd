/** `crema serve` as a stage: the HTTP server around the app and the stream hub. */
import { closeServer, listen } from '../core/http-server.js';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from '../core/redis.js';
import type { Stage } from '../core/stage.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { RedisKeys } from '../core/keys.js';
import type { TrustProxy } from '../core/network.js';
import { connectRedis } from '../core/redis.js';
import type { SharedSettings } from '../core/shared-settings.js';
import type { ShardLayout } from '../core/shards.js';
import { AlertBoard } from './alert-board.js';
import { createApp } from './app.js';
import { WindowHistory } from './history.js';
import { type StreamChannels, StreamHub } from './stream-hub.js';

export interface WebServerOptions {
  /** Commands: history reads and health. */
  readonly redis: RedisClient;
  /** The stats subscription (a subscribed connection can do nothing else). */
  readonly subscriber: RedisClient;
  /** The prefix's keys (its shared settings). */
  readonly keys: RedisKeys;
  /** Where a shard count puts the data (`core/shards.ts`). @defaultValue one shard, the prefix's own keys */
  readonly layout?: (shards: number) => ShardLayout;
  /** The shard count to read and follow until the stored one is known. @defaultValue 1 */
  readonly shards?: number;
  /**
   * The prefix's shared settings (the window size, the shard count), once a processor has stored
   * them; waits until then, and ends when `signal` aborts. Until it resolves, `/api/windows` answers 503.
   */
  readonly sharedSettings: (signal: AbortSignal) => Promise<Pick<SharedSettings, 'windowMs'> & Partial<Pick<SharedSettings, 'shards'>>>;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly publicDir: string;
  readonly corsOrigins: readonly string[];
  readonly apiRateLimit: number;
  readonly streamMaxClients: number;
  readonly streamBufferBytes: number;
  readonly heartbeatMs: number;
  /** Bearer token `POST /api/alerts` requires; undefined accepts any client. */
  readonly alertsToken?: string | undefined;
  /** Whether `/metrics` is served on this port. @defaultValue 'on' */
  readonly metricsEndpoint?: 'on' | 'off';
  /** Bearer token `/metrics` requires; undefined serves it to anyone. */
  readonly metricsToken?: string | undefined;
  /** Express's `trust proxy`. @defaultValue false */
  readonly trustProxy?: TrustProxy;
  readonly log: Logger;
  readonly metrics: Metrics;
}

export class WebServer implements Stage {
  readonly hub: StreamHub;
  private readonly server: Server;
  private readonly stopping = new AbortController();
  private listening: Promise<AddressInfo> | undefined;
  private stopped: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;
  private rejectStopped: ((error: unknown) => void) | undefined;
  private settingsFailure: unknown;
  private windowMs: number | undefined;

  private readonly history: WindowHistory;

  constructor(private readonly options: WebServerOptions) {
    const windowMs = () => this.windowMs;
    const layout = this.layout(options.shards ?? 1);
    const history = new WindowHistory(options.redis, layout.shards, options.keys.settings, windowMs);
    this.history = history;
    this.hub = new StreamHub({
      subscriber: options.subscriber,
      channels: channelsOf(layout),
      history,
      windowMs,
      bufferBytes: options.streamBufferBytes,
      heartbeatMs: options.heartbeatMs,
      maxClients: options.streamMaxClients,
      log: options.log,
      metrics: options.metrics,
    });
    const app = createApp({ ...options, history, hub: this.hub, alerts: new AlertBoard() });
    this.server = createServer(app);
  }

  /** Starts listening (and connecting to Redis in the background); resolves with the address. Idempotent. */
  listen(): Promise<AddressInfo> {
    this.listening ??= (async () => {
      const { redis, host, port, log } = this.options;
      const address = await listen(this.server, port, host, { port: 'webPort', host: 'webHost' });
      // The page is served while Redis is down; it shows the outage instead of failing to load.
      connectRedis(redis, this.stopping.signal).catch(() => {});
      this.options.sharedSettings(this.stopping.signal).then(
        (shared) => {
          this.windowMs = shared.windowMs;
          if (shared.shards !== undefined && shared.shards !== (this.options.shards ?? 1)) {
            const layout = this.layout(shared.shards);
            this.history.readShards(layout.shards);
            this.hub.follow(channelsOf(layout));
          }
        },
        (error: unknown) => {
          if (this.stopping.signal.aborted) return;
          this.settingsFailure = error;
          this.rejectStopped?.(error);
        },
      );
      this.hub.start();
      const { alertsToken, metricsEndpoint = 'on', metricsToken } = this.options;
      log.info(
        {
          url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`,
          // Said once, here: who may post alerts and read metrics.
          alertsWebhook: alertsToken === undefined ? 'open' : 'bearer token',
          metrics: metricsEndpoint === 'off' ? 'off (CREMA_WEB_METRICS)' : metricsToken === undefined ? 'open' : 'bearer token',
        },
        'serving the live page',
      );
      return address;
    })();
    return this.listening;
  }

  private layout(shards: number): ShardLayout {
    return this.options.layout?.(shards) ?? { shards: [this.options.keys], shardedPubSub: false };
  }

  /** The URL of the page, once listening. */
  async url(): Promise<string> {
    const { port } = await this.listen();
    const host = this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Serves until closed; fails when the shared settings cannot be read (a broken settings hash). */
  async start(): Promise<void> {
    this.stopped ??= new Promise((resolve, reject) => {
      this.resolveStopped = resolve;
      this.rejectStopped = reject;
      if (this.settingsFailure !== undefined) reject(this.settingsFailure);
    });
    await this.listen();
    await this.stopped;
  }

  /** Ends the streams, stops listening, closes open connections. Idempotent. */
  readonly close = once(async () => {
    this.stopping.abort();
    await this.hub.close();
    if (this.listening) {
      await this.listening.catch(() => {});
      await closeServer(this.server);
    }
    this.resolveStopped?.();
  });
}

function channelsOf(layout: ShardLayout): StreamChannels {
  return { names: layout.shards.map((keys) => keys.statsChannel), sharded: layout.shardedPubSub, partial: layout.shards.length > 1 };
}
