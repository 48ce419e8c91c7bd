/** `crema process`: wires configuration, Redis, the shared settings and the processor. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedis } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { SHARED_NAMES, sharedProposal, storeSharedSettings } from '../core/shared-settings.js';
import { preparedStage } from '../core/stage.js';
import { Processor } from './processor.js';

export function createProcessor(config: StageConfig<'process'>, log: Logger, metrics: Metrics) {
  const redis = createRedis(config, { name: `crema:processor:${config.consumer}`, log });
  const keys = new RedisKeys(config.prefix);
  const processor = preparedStage(
    (signal) => storeSharedSettings({ redis, keys, log, signal, proposal: sharedProposal(config, SHARED_NAMES) }),
    (shared) =>
      new Processor({
        redis,
        keys,
        consumer: config.consumer,
        catalog: shared.catalog,
        windowMs: shared.windowMs,
        graceMs: shared.graceMs,
        retentionMs: shared.retentionMs,
        maxClockSkewMs: config.maxClockSkewMs,
        batchSize: config.processBatch,
        leaseMs: config.leaseMs,
        tickMs: config.tickMs,
        deadLetterLogMs: config.deadLetterLogMs,
        deadLetterMax: config.deadMax,
        log,
        metrics,
      }),
  );
  return { processor, redis };
}
