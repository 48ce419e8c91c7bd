/** Builds real stages inside the test process, against a test's Redis and key prefix. */
import { pino } from 'pino';
import { Collector, type CollectorOptions } from '../../collector/collector.js';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { createMetrics } from '../../core/metrics.js';
import type { SettingSource } from '../../core/settings/index.js';
import { SHARED_NAMES, type SharedName, type SharedSettings, sharedProposal, storeSharedSettings } from '../../core/shared-settings.js';
import { Exporter, type ExporterOptions } from '../../exporter/exporter.js';
import { InfluxWriter } from '../../exporter/influx-writer.js';
import { Processor, type ProcessorOptions } from '../../processor/processor.js';
import type { InfluxServer } from './influx.js';
import type { TestRedis } from './redis.js';

export const silentLog = pino({ level: process.env.CREMA_TEST_LOG_LEVEL ?? 'silent' });

export function testCollector(redis: TestRedis, files: string[], overrides: Partial<CollectorOptions> = {}): Collector {
  return new Collector({
    redis: redis.connect('collector'),
    shards: [redis.keys],
    files,
    host: 'test-host',
    from: 'beginning',
    maxLineBytes: 1024 * 1024,
    batchLines: 1000,
    queueMax: 10_000_000,
    pollMs: 50,
    log: silentLog,
    metrics: createMetrics('test-host'),
    ...overrides,
  });
}

export function testProcessor(redis: TestRedis, overrides: Partial<ProcessorOptions> = {}): Processor {
  return new Processor({
    redis: redis.connect('processor'),
    keys: redis.keys,
    consumer: `p-${Math.random().toString(36).slice(2, 8)}`,
    catalog: DEFAULT_CATALOG,
    windowMs: 10_000,
    graceMs: 10_000,
    retentionMs: 7 * 86_400_000,
    maxClockSkewMs: 300_000,
    batchSize: 1000,
    leaseMs: 10_000,
    tickMs: 100,
    log: silentLog,
    metrics: createMetrics('test-host'),
    ...overrides,
  });
}

/**
 * Stores the prefix's shared settings (defaults: those of {@link testProcessor}), as the real
 * `crema process` does before it counts; processors built by {@link testProcessor} skip that step,
 * so a test that runs them next to a real `crema serve` or `crema export` calls this first.
 */
export async function storeTestSharedSettings(redis: TestRedis, overrides: Partial<SharedSettings> = {}): Promise<SharedSettings> {
  const values: SharedSettings = { windowMs: 10_000, graceMs: 10_000, retentionMs: 7 * 86_400_000, catalog: DEFAULT_CATALOG, shards: 1, ...overrides };
  const sources = Object.fromEntries(SHARED_NAMES.map((name) => [name, 'flag'])) as Record<SharedName, SettingSource>;
  const proposal = sharedProposal({ ...values, sources }, SHARED_NAMES);
  return storeSharedSettings({ redis: redis.client, keys: redis.keys, log: silentLog, signal: new AbortController().signal, proposal });
}

/** An exporter writing to `database` (as bucket `database/autogen`, the 1.8+ form) of a test InfluxDB. */
export function testExporter(redis: TestRedis, influx: InfluxServer, database: string, overrides: Partial<ExporterOptions> = {}): Exporter {
  return new Exporter({
    redis: redis.connect('exporter'),
    shards: [redis.keys],
    sink: new InfluxWriter({ url: influx.url, token: influx.token, org: '', bucket: `${database}/autogen`, timeoutMs: 2000 }),
    catalog: DEFAULT_CATALOG,
    provisionalMs: 200,
    batchWindows: 500,
    log: silentLog,
    metrics: createMetrics('test-host'),
    ...overrides,
  });
}
