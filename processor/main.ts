/** `crema process`: wires configuration, Redis, the shared settings and one processor per shard. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedisClient, isClusterTarget } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { SHARED_NAMES, sharedProposal, storeSharedSettings } from '../core/shared-settings.js';
import { shardLayout } from '../core/shards.js';
import { preparedStage, stageGroup } from '../core/stage.js';
import { WindowReader } from '../core/window-reader.js';
import { Processor } from './processor.js';
import { MergedWindowLog } from './window-log.js';

/**
 * Every processor claims from every shard: one processing loop per shard, each with its own lease
 * and claims under the shard's keys (docs/architecture.md, "Shards", says why not exclusive ownership).
 */
export function createProcessor(config: StageConfig<'process'>, log: Logger, metrics: Metrics) {
  const redis = createRedisClient(config, { name: `crema:processor:${config.consumer}`, log });
  const processor = preparedStage(
    (signal) => storeSharedSettings({ redis, keys: new RedisKeys(config.prefix), log, signal, proposal: sharedProposal(config, SHARED_NAMES) }),
    (shared) => {
      const layout = shardLayout(config.prefix, shared.shards, isClusterTarget(config));
      const merged = layout.shards.length > 1 ? new MergedWindowLog(new WindowReader(redis, layout.shards), shared.windowMs, log) : undefined;
      return stageGroup(
        layout.shards.map(
          (keys, shard) =>
            new Processor({
              redis,
              keys,
              shardedPubSub: layout.shardedPubSub,
              consumer: config.consumer,
              catalog: shared.catalog,
              windowMs: shared.windowMs,
              graceMs: shared.graceMs,
              retentionMs: shared.retentionMs,
              maxClockSkewMs: config.maxClockSkewMs,
              batchSize: config.processBatch,
              leaseMs: config.leaseMs,
              tickMs: config.tickMs,
              ...(merged && { logFinal: merged.logFinal }),
              deadLetterLogMs: config.deadLetterLogMs,
              deadLetterMax: config.deadMax,
              log: layout.shards.length > 1 ? log.child({ shard }) : log,
              metrics,
            }),
        ),
      );
    },
  );
  return { processor, redis };
}
