/** `crema collect`: wires configuration, Redis and the collector. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedis } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { Collector } from './collector.js';

export function createCollector(config: StageConfig<'collect'>, log: Logger, metrics: Metrics) {
  const redis = createRedis(config, { name: `crema:collector:${config.host}`, log });
  const collector = new Collector({
    redis,
    keys: new RedisKeys(config.prefix),
    files: config.files,
    host: config.host,
    from: config.from,
    maxLineBytes: config.maxLineBytes,
    batchLines: config.collectBatch,
    queueMax: config.queueMax,
    pollMs: config.pollMs,
    retentionMs: config.retentionMs,
    log,
    metrics,
  });
  return { collector, redis };
}
