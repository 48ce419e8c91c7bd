/**
 * The exporter's speed, on servers of its own (a private Redis and the test harness's InfluxDB):
 *   - points/s: a backlog of closed windows (23 points each) written from the `changes` stream
 *     until the checkpoint reaches its end (what a restart after an InfluxDB outage has to do);
 *   - close → visible: from the moment a window is closed (its `final` event is added, as the
 *     ticker does) to the moment an InfluxQL query returns it as final.
 */
import { DEFAULT_CATALOG } from '../core/catalog.js';
import type { RedisKeys } from '../core/keys.js';
import { connectRedis, createRedis } from '../core/redis.js';
import { Exporter } from '../exporter/exporter.js';
import { InfluxWriter } from '../exporter/influx-writer.js';
import { pointsPerWindow } from '../exporter/points.js';
import { startPrivateInfluxDB } from '../test/support/influx.js';
import { benchKeys, freshMetrics, percentile, quietLog, startLocalRedis, waitUntil } from './support.js';

const W = 10_000;

export interface ExporterBench {
  readonly pointsPerSecond: number;
  readonly closeToVisibleMs: { readonly p50: number; readonly p99: number };
}

/** Options; the defaults are what `npm run bench` uses. */
export interface ExporterBenchOptions {
  /** Closed windows in the backlog. @defaultValue 20000 */
  readonly backlogWindows?: number;
  /** Windows closed one by one for the lag. @defaultValue 200 */
  readonly lagWindows?: number;
  /** Windows closed per second during the lag measurement. @defaultValue 20 */
  readonly closeRate?: number;
}

export async function benchExporter(options: ExporterBenchOptions = {}): Promise<ExporterBench> {
  const backlogWindows = options.backlogWindows ?? Number(process.env.BENCH_EXPORTER_WINDOWS ?? 20_000);
  const lagWindows = options.lagWindows ?? 200;
  const closeRate = options.closeRate ?? 20;
  const redisServer = await startLocalRedis({ persistent: false });
  const influx = await startPrivateInfluxDB();
  const redis = createRedis(redisServer.url, { name: 'bench-exporter-driver' });
  // The exporter's own connection: its blocking reads must not delay the driver's writes.
  const exporterRedis = createRedis(redisServer.url, { name: 'bench-exporter' });
  try {
    await connectRedis(redis);
    const database = await influx.createDatabase();
    const keys = benchKeys();
    const firstStart = Math.floor(Date.now() / W) * W - (backlogWindows + lagWindows + 10) * W;

    await closeWindows(redis, keys, firstStart, backlogWindows);
    const exporter = new Exporter({
      redis: exporterRedis,
      shards: [keys],
      sink: new InfluxWriter({ url: influx.url, token: influx.token, org: '', bucket: `${database}/autogen`, timeoutMs: 30_000 }),
      catalog: DEFAULT_CATALOG,
      provisionalMs: 5000,
      batchWindows: 500,
      log: quietLog,
      metrics: freshMetrics(),
    });
    const [last] = await redis.xrevrange(keys.changes, '+', '-', 'COUNT', 1);
    const started = performance.now();
    const running = exporter.start();
    await waitUntil(async () => (await redis.get(keys.exportCheckpoint)) === last![0], 600_000, 10);
    const seconds = (performance.now() - started) / 1000;
    const pointsPerSecond = (backlogWindows * pointsPerWindow(DEFAULT_CATALOG)) / seconds;

    const lags: number[] = [];
    const lagStart = firstStart + backlogWindows * W;
    for (let i = 0; i < lagWindows; i++) {
      const start = lagStart + i * W;
      const closedAt = performance.now();
      await closeWindows(redis, keys, start, 1);
      await waitUntil(async () => (await influx.query(database, `SELECT "final" FROM "windows" WHERE time = ${start}ms`))[0]?.values[0]?.[1] === true, 10_000, 1);
      lags.push(performance.now() - closedAt);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / closeRate - (performance.now() - closedAt))));
    }
    await exporter.close();
    await running;
    lags.sort((a, b) => a - b);
    return { pointsPerSecond, closeToVisibleMs: { p50: percentile(lags, 50), p99: percentile(lags, 99) } };
  } finally {
    redis.disconnect();
    exporterRedis.disconnect();
    await influx.dispose();
    await redisServer.dispose();
  }
}

/** Writes `count` closed windows of typical counts and their `final` events, as the ticker leaves them. */
async function closeWindows(redis: ReturnType<typeof createRedis>, keys: RedisKeys, firstStart: number, count: number): Promise<void> {
  const { coffeeTypes, paymentMethods, ageGrades } = DEFAULT_CATALOG;
  for (let done = 0; done < count; ) {
    const pipeline = redis.pipeline();
    for (const end = Math.min(count, done + 1000); done < end; done++) {
      const start = firstStart + done * W;
      const fields: Record<string, number | string> = { orders: 400, drinks: 2200, late: 0, final: '1' };
      coffeeTypes.forEach((c, i) => (fields[`coffee:${c}`] = 200 + i));
      paymentMethods.forEach((p, i) => (fields[`payment:${p}`] = 130 + i));
      ageGrades.forEach((g, i) => (fields[`age:${g}`] = 40 + i));
      pipeline.hset(keys.window(start), fields).zadd(keys.windows, start, String(start)).xadd(keys.changes, '*', 'start', String(start), 'kind', 'final');
    }
    await pipeline.exec();
  }
}
