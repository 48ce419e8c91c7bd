/** Redis goes away while the pipeline runs: nothing lost, nothing counted twice, no stage exits. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, tempDir } from '../support/files.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { type RedisServer, startPrivateRedis } from '../support/servers.js';
import { testCollector, testProcessor } from '../support/stages.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startPrivateRedis();
});
afterAll(() => server.dispose());

it('collector and processor ride out a Redis outage without loss or double counting', async () => {
  const W = 10_000;
  const t: TestRedis = testRedis(server.url);
  const dir = tempDir();
  const file = dir.file('orders.jsonl');
  const lines = orderLines(20_000, { seed: 11, firstStart: windowStart(Date.now(), W) - 2 * W, windows: 3, windowMs: W });
  const writer = new LineWriter(file);
  const collector = testCollector(t, [file], { batchLines: 200 });
  const processor = testProcessor(t, { batchSize: 200, leaseMs: 3000 });
  const stages = [collector.start(), processor.start()];
  let settled = false;
  void Promise.allSettled(stages).then(() => (settled = true));
  try {
    writer.write(`${lines.slice(0, 8000).join('\n')}\n`);
    await eventually(async () => (await t.client.hlen(t.keys.offsets)) === 1, { message: 'collector not following' });

    await server.stop();
    writer.write(`${lines.slice(8000, 14_000).join('\n')}\n`); // written while Redis is down
    await new Promise((r) => setTimeout(r, 1500));
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
    expect(await t.client.llen(t.keys.dead)).toBe(0);
  } finally {
    await collector.close();
    await processor.close();
    writer.close();
    dir.remove();
    await t.cleanup();
  }
});
