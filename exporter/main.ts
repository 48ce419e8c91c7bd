/** `crema export`: wires configuration, Redis, the shared settings, InfluxDB and the exporter. */
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedisClient, isClusterTarget } from '../core/redis.js';
import type { StageConfig } from '../core/settings/index.js';
import { sharedProposal, waitForSharedSettings } from '../core/shared-settings.js';
import { shardLayout } from '../core/shards.js';
import { preparedStage } from '../core/stage.js';
import { Exporter } from './exporter.js';
import { type InfluxSettings, InfluxWriter } from './influx-writer.js';

/** Where the exporter writes; undefined when INFLUX_URL is not set. */
export function influxSettings(config: StageConfig<'export'>): InfluxSettings | undefined {
  if (config.influxUrl === undefined) return undefined;
  return { url: config.influxUrl, token: config.influxToken, org: config.influxOrg, bucket: config.influxBucket, timeoutMs: config.influxTimeoutMs };
}

/**
 * Needs `config.influxUrl` (INFLUX_URL); configuration loading enforces it for `crema export`.
 * Exports with the catalog the processors count with, from the shared settings.
 */
export function createExporter(config: StageConfig<'export'>, log: Logger, metrics: Metrics) {
  const influx = influxSettings(config);
  if (!influx) throw new Error('createExporter needs INFLUX_URL');
  const redis = createRedisClient(config, { name: `crema:exporter:${config.host}`, log });
  const keys = new RedisKeys(config.prefix);
  const exporter = preparedStage(
    (signal) => waitForSharedSettings({ redis, keys, log, signal, proposal: sharedProposal(config, ['catalog', 'shards']) }),
    (shared) =>
      new Exporter({
        redis,
        shards: shardLayout(config.prefix, shared.shards, isClusterTarget(config)).shards,
        sink: new InfluxWriter(influx),
        catalog: shared.catalog,
        provisionalMs: config.provisionalMs,
        batchWindows: config.exportBatch,
        log,
        metrics,
      }),
  );
  log.info({ url: new URL(influx.url).origin, bucket: influx.bucket }, 'exporting to InfluxDB');
  return { exporter, redis };
}
