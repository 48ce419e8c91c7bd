/** `crema collect`: wires configuration, Redis, the shard count and the collector. */
import { ConfigError } from '../core/errors.js';
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedisClient, isClusterTarget } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { sharedProposal, storeSharedSettings } from '../core/shared-settings.js';
import { shardLayout } from '../core/shards.js';
import { preparedStage } from '../core/stage.js';
import { Collector } from './collector.js';

export function createCollector(config: StageConfig<'collect'>, log: Logger, metrics: Metrics) {
  const redis = createRedisClient(config, { name: `crema:collector:${config.host}`, log });
  // The collector needs the shard count to place its files, so it may be the one that stores it.
  const collector = preparedStage(
    (signal) => storeSharedSettings({ redis, keys: new RedisKeys(config.prefix), log, signal, proposal: sharedProposal(config, ['shards']) }),
    ({ shards }) => {
      const { shard } = config;
      if (shard !== undefined && shard >= shards) {
        throw new ConfigError([`CREMA_SHARD (--shard) is ${shard}, but this prefix has ${shards} shards (stored in ${config.prefix}settings), numbered from 0`]);
      }
      const cluster = isClusterTarget(config);
      return new Collector({
        redis,
        shards: shardLayout(config.prefix, shards, cluster).shards,
        // One shard on one Redis kept the prefix's own keys: positions from then are found there.
        ...(!cluster && shards > 1 && { formerShards: [new RedisKeys(config.prefix)] }),
        ...(shard !== undefined && { shardOf: () => shard }),
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
    },
  );
  return { collector, redis };
}
