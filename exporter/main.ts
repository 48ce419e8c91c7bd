/** `crema export`: wires configuration, Redis, InfluxDB and the exporter. */
import type { Config } from '../core/config.js';
import { RedisKeys } from '../core/keys.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { createRedis } from '../core/redis.js';
import { Exporter } from './exporter.js';
import { InfluxWriter } from './influx-writer.js';

/** Needs `config.influx` (INFLUX_URL); configuration loading enforces it for `crema export`. */
export function createExporter(config: Config, log: Logger, metrics: Metrics) {
  if (!config.influx) throw new Error('createExporter needs INFLUX_URL');
  const redis = createRedis(config.redisUrl, { name: `crema:exporter:${config.host}`, log });
  const exporter = new Exporter({
    redis,
    keys: new RedisKeys(config.prefix),
    sink: new InfluxWriter(config.influx),
    catalog: config.catalog,
    provisionalMs: config.provisionalMs,
    batchWindows: config.exportBatch,
    log,
    metrics,
  });
  log.info({ url: new URL(config.influx.url).origin, bucket: config.influx.bucket }, 'exporting to InfluxDB');
  return { exporter, redis };
}
