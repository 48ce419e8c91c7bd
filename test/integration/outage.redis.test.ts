/** Redis goes away while the pipeline runs: nothing lost, nothing counted twice, no stage exits. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMetrics } from '../../core/metrics.js';
import { windowStart } from '../../core/windows.js';
import { eventually } from '../support/eventually.js';
import { LineWriter } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { metricValue } from '../support/metrics.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type RedisServer, startPrivateRedis } from '../support/servers.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startPrivateRedis();
});
afterAll(() => server.dispose());
const env = useTestEnvironment({ redisUrl: () => server.url });

it('collector and processor ride out a Redis outage without loss or double counting', async () => {
  const W = 10_000;
  const t = env.redis;
  const file = env.dir.file('orders.jsonl');
  const lines = orderLines(20_000, { seed: 11, firstStart: windowStart(Date.now(), W) - 2 * W, windows: 3, windowMs: W });
  const writer = new LineWriter(file);
  env.onCleanup(() => writer.close());
  const metrics = { collector: createMetrics('test-host'), processor: createMetrics('test-host') };
  const collector = env.startCollector([file], { batchLines: 200, metrics: metrics.collector });
  const processor = env.startProcessor({ batchSize: 200, leaseMs: 3000, metrics: metrics.processor });
  let settled = false;
  void Promise.allSettled([collector.start(), processor.start()]).then(() => (settled = true));
  writer.write(`${lines.slice(0, 8000).join('\n')}\n`);
  await eventually(async () => (await t.client.hlen(t.keys.offsets)) === 1, { message: 'collector not following' });

  await server.stop();
  writer.write(`${lines.slice(8000, 14_000).join('\n')}\n`); // written while Redis is down
  const errors = (stage: 'collector' | 'processor') => metricValue(metrics[stage], 'coffee_errors_total', { stage });
  await eventually(async () => (await errors('collector')) >= 1 && (await errors('processor')) >= 1, { message: 'the stages did not notice the outage' });
  expect(settled, 'a stage exited during the outage').toBe(false);
  await server.start();

  writer.write(`${lines.slice(14_000).join('\n')}\n`);
  const expected = expectedWindows(lines, W);
  await eventually(
    async () => {
      let total = 0;
      for (const start of expected.keys()) total += Number((await t.client.hget(t.keys.window(start), 'orders')) ?? 0);
      return total === lines.length && (await t.client.llen(t.keys.queue)) === 0;
    },
    { timeoutMs: 40_000, intervalMs: 200, message: 'not every order was counted after the outage' },
  );
  await eventually(async () => (await t.client.keys(`${t.prefix}processing:*`)).length === 0, { message: 'batch left uncommitted' });
  for (const [start, window] of expected) {
    expect(countsOnly(await t.client.hgetall(t.keys.window(start)))).toEqual(expectedHash(window));
  }
  expect(await t.client.zcard(t.keys.deadIndex)).toBe(0);
});
