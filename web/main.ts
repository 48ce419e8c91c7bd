/** `crema serve`: wires configuration, Redis, the shared settings and the web server. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedisClient, isClusterTarget } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { sharedProposal, waitForSharedSettings } from '../core/shared-settings.js';
import { shardLayout } from '../core/shards.js';
import { publicDir } from './public-dir.js';
import { metricsEndpoint } from './security.js';
import { WebServer } from './web-server.js';

export function createWeb(config: StageConfig<'serve'>, log: Logger, metrics: Metrics) {
  const redis = createRedisClient(config, { name: `crema:web:${config.host}`, log });
  // Its own connection: a subscribed connection cannot read windows. It only subscribes, so the
  // exactly-once options of createRedis cost nothing here; the stream hub subscribes again after a reconnect.
  const subscriber = createRedisClient(config, { name: `crema:web-subscriber:${config.host}`, log });
  const keys = new RedisKeys(config.prefix);
  const web = new WebServer({
    redis,
    subscriber,
    keys,
    layout: (shards) => shardLayout(config.prefix, shards, isClusterTarget(config)),
    shards: config.shards,
    // The window size is the processors': the web has no window setting of its own.
    sharedSettings: (signal) => waitForSharedSettings({ redis, keys, log, signal, proposal: sharedProposal(config, ['shards']) }),
    host: config.webHost,
    port: config.webPort,
    publicDir: publicDir(),
    corsOrigins: config.corsOrigins,
    apiRateLimit: config.apiRateLimit,
    streamMaxClients: config.streamMaxClients,
    streamBufferBytes: config.streamBufferBytes,
    heartbeatMs: config.heartbeatMs,
    alertsToken: config.alertsToken,
    metricsEndpoint: metricsEndpoint(config),
    metricsToken: config.webMetricsToken,
    trustProxy: config.trustProxy,
    log,
    metrics,
  });
  return { web, connections: [redis, subscriber] };
}
