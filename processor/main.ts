/** `crema process`: wires configuration, Redis and the processor. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedis } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { Processor } from './processor.js';

export function createProcessor(config: StageConfig<'process'>, log: Logger, metrics: Metrics) {
  const redis = createRedis(config.redisUrl, { name: `crema:processor:${config.consumer}`, log });
  const processor = new Processor({
    redis,
    keys: new RedisKeys(config.prefix),
    consumer: config.consumer,
    catalog: config.catalog,
    windowMs: config.windowMs,
    graceMs: config.graceMs,
    retentionMs: config.retentionMs,
    maxClockSkewMs: config.maxClockSkewMs,
    batchSize: config.processBatch,
    leaseMs: config.leaseMs,
    tickMs: config.tickMs,
    log,
    metrics,
  });
  return { processor, redis };
}
