/** Starts the web server in the test process, against a test's Redis and key prefix. */
import type { Redis } from 'ioredis';
import { createMetrics, type Metrics } from '../../core/metrics.js';
import { connectRedis, createRedis } from '../../core/redis.js';
import { eventually } from './eventually.js';
import { publicDir } from '../../web/public-dir.js';
import { WebServer, type WebServerOptions } from '../../web/web-server.js';
import type { TestRedis } from './redis.js';
import { silentLog } from './stages.js';

export interface TestWeb {
  readonly server: WebServer;
  readonly url: string;
  readonly metrics: Metrics;
  readonly redis: Redis;
  readonly subscriber: Redis;
  /** Closes the server and its connections. */
  close(): Promise<void>;
}

/**
 * A web server on a free loopback port, once its Redis connections are ready and subscribed;
 * `redisUrl` overrides the test Redis (outage tests).
 */
export async function startTestWeb(t: TestRedis, overrides: Partial<WebServerOptions> = {}, redisUrl = t.url): Promise<TestWeb> {
  const metrics = createMetrics('test-host');
  const quick = { connectTimeout: 1000, retryStrategy: () => 100 };
  const redis = createRedis(redisUrl, { name: 'test-web', log: silentLog, overrides: quick });
  const subscriber = createRedis(redisUrl, { name: 'test-web-subscriber', log: silentLog, overrides: quick });
  const server = new WebServer({
    redis,
    subscriber,
    keys: t.keys,
    sharedSettings: async () => ({ windowMs: 10_000 }),
    host: '127.0.0.1',
    port: 0,
    publicDir: publicDir(),
    corsOrigins: [],
    apiRateLimit: 0,
    streamMaxClients: 10_000,
    streamBufferBytes: 256 * 1024,
    heartbeatMs: 15_000,
    log: silentLog,
    metrics,
    ...overrides,
  });
  await server.listen();
  await connectRedis(redis);
  await eventually(() => server.hub.subscribed, { message: 'the live stream never subscribed' });
  return {
    server,
    url: await server.url(),
    metrics,
    redis,
    subscriber,
    async close() {
      await server.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
