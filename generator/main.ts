/** `crema generate`: wires configuration to the generator. */
import { randomInt } from 'node:crypto';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { StageConfig } from '../core/settings/index.js';
import { Generator } from './generator.js';

export function createGenerator(config: StageConfig<'generate'>, log: Logger, metrics: Metrics): Generator {
  return new Generator({
    file: config.files[0]!,
    catalog: config.catalog,
    rate: config.rate,
    count: config.count,
    seed: config.seed ?? randomInt(2 ** 32),
    orderedAt: config.orderedAt,
    bulk: config.bulk,
    rotateBytes: Math.round(config.rotateMb * 1024 * 1024),
    rotateKeep: config.rotateKeep,
    log,
    metrics,
  });
}
