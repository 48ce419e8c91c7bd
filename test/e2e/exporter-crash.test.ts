/**
 * kill -9 of the real `crema export` process at random moments while it works through thousands of
 * window changes, some of them revisions: afterwards InfluxDB holds every window exactly as Redis
 * does, once (no window lost, no point duplicated), and the checkpoint reaches the end of the stream.
 * Also: `crema up` includes the exporter when INFLUX_URL is set.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { LineWriter } from '../support/files.js';
import { type InfluxServer, startInfluxDB } from '../support/influx.js';
import { influxLines, redisLines } from '../support/influx-truth.js';
import { orderLines } from '../support/orders.js';
import { storeTestSharedSettings, testCollector, testProcessor } from '../support/stages.js';

const W = 1000;
const KILLS = 8;
const env = useTestEnvironment();
let influx: InfluxServer;
beforeAll(async () => {
  influx = await startInfluxDB();
}, 60_000);
afterAll(() => influx.dispose());

it(`exports every window exactly once across ${KILLS} kill -9 of the exporter`, async () => {
  const { redis: t, dir } = env;
  const database = await influx.createDatabase();
  const file = dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  const firstStart = windowStart(Date.now(), W) - 1800 * W;
  const lines = orderLines(20_000, { seed: 31, firstStart, windowMs: W, windows: 1500 });
  // Later orders for the same windows: they arrive after those closed, as revisions.
  const late = orderLines(2000, { seed: 32, firstStart, windowMs: W, windows: 1500 });
  writer.write(`${lines.join('\n')}\n`);
  const collector = testCollector(t, [file]);
  const processor = testProcessor(t, { windowMs: W, graceMs: W, batchSize: 500 });
  await storeTestSharedSettings(t, { windowMs: W, graceMs: W });
  void collector.start();
  void processor.start();

  const flags = ['--redis-url', t.url, '--prefix', t.prefix, '--influx-url', influx.url, '--influx-bucket', `${database}/autogen`, '--export-batch', '20', '--provisional-seconds', '0.2'];
  const exporterEnv = influx.token ? { INFLUX_TOKEN: influx.token } : {};
  let exporter = new CremaProcess('export', flags, exporterEnv);
  const checkpoints: string[] = [];
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const before = await t.client.get(t.keys.exportCheckpoint);
      await eventually(async () => (await t.client.get(t.keys.exportCheckpoint)) !== before, {
        timeoutMs: 20_000,
        message: () => `the exporter made no progress; logs:\n${exporter.logs.slice(-2000)}`,
      });
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      await exporter.kill9();
      checkpoints.push((await t.client.get(t.keys.exportCheckpoint)) ?? '');
      if (kill === 3) writer.write(`${late.join('\n')}\n`);
      exporter = new CremaProcess('export', flags, exporterEnv);
    }

    const countedOrders = async () => {
      const starts = await t.client.zrange(t.keys.windows, '0', '-1');
      const pipeline = t.client.pipeline();
      for (const start of starts) pipeline.hget(t.keys.window(Number(start)), 'orders');
      return ((await pipeline.exec()) ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0);
    };
    await eventually(async () => (await countedOrders()) === 22_000 && (await t.client.zcard(t.keys.open)) === 0 && (await t.client.scard(t.keys.dirty)) === 0, {
      timeoutMs: 30_000,
      message: 'pipeline did not count every order',
    });
    let last = { influx: [] as string[], redis: [] as string[] };
    await eventually(
      async () => {
        last = { influx: await influxLines(influx, database), redis: await redisLines(t.client, t.keys) };
        const [newest] = await t.client.xrevrange(t.keys.changes, '+', '-', 'COUNT', 1);
        return JSON.stringify(last.influx) === JSON.stringify(last.redis) && (await t.client.get(t.keys.exportCheckpoint)) === newest?.[0];
      },
      { timeoutMs: 60_000, intervalMs: 500, message: () => `InfluxDB has ${last.influx.length} points, Redis implies ${last.redis.length}; logs:\n${exporter.logs.slice(-2000)}` },
    );
    expect((await exporter.terminate()).code).toBe(0);
  } finally {
    await exporter.kill9();
    await collector.close();
    await processor.close();
  }

  // The kills interrupted the export: the checkpoint was still moving each time.
  expect(new Set(checkpoints).size, `checkpoints at the kills: ${checkpoints}`).toBe(KILLS);
  const windows = await t.client.zcard(t.keys.windows);
  const [count] = await influx.query(database, 'SELECT count("orders") AS n, sum("orders") AS orders, sum("late") AS late FROM "windows"');
  expect(count!.values[0]!.slice(1, 3)).toEqual([windows, 22_000]);
  expect(count!.values[0]![3]).toBeGreaterThan(0);
});

it('crema up runs the exporter when INFLUX_URL is set, and stops cleanly', async () => {
  const { redis: t, dir } = env;
  const database = await influx.createDatabase();
  const up = new CremaProcess(
    'up',
    ['--redis-url', t.url, '--prefix', t.prefix, '--file', dir.file('orders.jsonl'), '--rate', '300', '--count', '600'],
    {
      INFLUX_URL: influx.url,
      INFLUX_BUCKET: `${database}/autogen`,
      CREMA_WINDOW_SECONDS: '1',
      CREMA_GRACE_SECONDS: '1',
      CREMA_TICK_MS: '100',
      CREMA_PROVISIONAL_SECONDS: '0.2',
      ...(influx.token ? { INFLUX_TOKEN: influx.token } : {}),
    },
  );
  try {
    await up.waitForLog('exporting window changes after the checkpoint');
    const exported = async () => (await influx.query(database, 'SELECT sum("orders"), count("orders") FROM "windows" WHERE "final" = true'))[0]?.values[0];
    const windows = async () => t.client.zcard(t.keys.windows);
    await eventually(async () => (await exported())?.[1] === 600 && (await exported())?.[2] === (await windows()), {
      timeoutMs: 30_000,
      message: async () => `InfluxDB has ${JSON.stringify(await exported())} of 600 orders in ${await windows()} windows; logs:\n${up.logs.slice(-2000)}`,
    });
    expect((await up.terminate()).code).toBe(0);
  } finally {
    await up.kill9();
  }
});
