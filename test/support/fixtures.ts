/**
 * The per-test fixture: a Redis key prefix and a temporary directory of the test's own, and the
 * stages it starts, all closed and cleaned after the test, stages first.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { closeAll } from '../../core/lifecycle.js';
import type { Collector, CollectorOptions } from '../../collector/collector.js';
import type { Exporter, ExporterOptions } from '../../exporter/exporter.js';
import type { Processor, ProcessorOptions } from '../../processor/processor.js';
import type { WebServerOptions } from '../../web/web-server.js';
import { tempDir } from './files.js';
import type { InfluxServer } from './influx.js';
import { type TestRedis, testRedis } from './redis.js';
import { testCollector, testExporter, testProcessor } from './stages.js';
import { type TestWeb, startTestWeb } from './web.js';

interface Closable {
  close(): Promise<void>;
}

export interface TestEnvironment {
  readonly redis: TestRedis;
  readonly dir: ReturnType<typeof tempDir>;
  /** Starts a collector on the test's prefix. */
  startCollector(files: string[], overrides?: Partial<CollectorOptions>): Collector;
  /** Starts a processor on the test's prefix, with a random consumer name unless given one. */
  startProcessor(overrides?: Partial<ProcessorOptions>): Processor;
  /** Starts an exporter writing to `database` of a test InfluxDB. */
  startExporter(influx: InfluxServer, database: string, overrides?: Partial<ExporterOptions>): Exporter;
  /** A web server on a free loopback port; `redisUrl` overrides the test Redis (outage tests). */
  startWeb(overrides?: Partial<WebServerOptions>, redisUrl?: string): Promise<TestWeb>;
  /** Closes something this fixture started, now (to restart it, say); closing twice is harmless. */
  stop(stage: Closable): Promise<void>;
  /** Runs `cleanup` after the test, after the stages are closed and before Redis is cleaned; the last registered runs first. Only inside a test (or a hook of it). */
  onCleanup(cleanup: () => unknown): void;
}

export interface EnvironmentOptions {
  /** Redis to use instead of the run's shared one, read when each test starts (a private server). */
  readonly redisUrl?: () => string;
  /**
   * `test` (default): a fresh environment for each test. `file`: one for all the tests of the
   * file, for suites that build one state and check it many ways.
   */
  readonly scope?: 'test' | 'file';
}

/** Registers hooks that give each test of the file (or the file as a whole) a fresh {@link TestEnvironment}. */
export function useTestEnvironment(options: EnvironmentOptions = {}): TestEnvironment {
  let current: { redis: TestRedis; dir: ReturnType<typeof tempDir> } | undefined;
  let stages: Closable[] = [];
  const cleanups: (() => unknown)[] = [];
  const [setUp, tearDown] = options.scope === 'file' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  setUp(() => {
    current = { redis: options.redisUrl ? testRedis(options.redisUrl()) : testRedis(), dir: tempDir() };
  });
  tearDown(async () => {
    const closing = stages.splice(0);
    try {
      await Promise.all(closing.map((stage) => stage.close()));
      // Last registered, first run; every one runs even when another fails.
      await closeAll(cleanups.splice(0).reverse());
    } finally {
      await current?.redis.cleanup();
      current?.dir.remove();
      current = undefined;
    }
  });
  const environment = (): NonNullable<typeof current> => {
    if (!current) throw new Error('the test environment is used outside a test');
    return current;
  };
  const started = <T extends Closable & { start(): Promise<void> }>(stage: T): T => {
    stages.push(stage);
    void stage.start();
    return stage;
  };
  return {
    get redis() {
      return environment().redis;
    },
    get dir() {
      return environment().dir;
    },
    startCollector: (files, overrides) => started(testCollector(environment().redis, files, overrides)),
    startProcessor: (overrides) => started(testProcessor(environment().redis, overrides)),
    startExporter: (influx, database, overrides) => started(testExporter(environment().redis, influx, database, overrides)),
    async startWeb(overrides, redisUrl) {
      const web = await startTestWeb(environment().redis, overrides, redisUrl);
      stages.push(web);
      return web;
    },
    async stop(stage) {
      stages = stages.filter((s) => s !== stage);
      await stage.close();
    },
    onCleanup(cleanup) {
      // Outside a test (or, for a file's environment, before its beforeAll) a cleanup would run
      // after the first test only, and leave what it cleans up running for the rest of the suite.
      environment();
      cleanups.push(cleanup);
    },
  };
}
