/**
 * A Redis that stops answering without closing anything (SIGSTOP of a private redis-server) under a
 * running `crema up`: within seconds each of its connections logs once that Redis is not
 * answering, `/healthz` of the metrics endpoint and of the web server fail, and the live stream
 * says `redis: down`, as for a Redis that is down. After SIGCONT each connection logs once that
 * Redis answers again, both health checks pass, the stream says `up`, and every order counts
 * exactly once. Then a kill -9 and restart of Redis: whatever the Redis client has to say about it
 * is Crema's structured log, never text on standard error.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { countsOnly, expectedHash, expectedWindows } from '../support/orders.js';
import { type LocalRedisServer, freePort, startLocalRedis } from '../support/servers.js';
import { SseTestClient } from '../support/sse.js';

let server: LocalRedisServer;
beforeAll(async () => {
  server = await startLocalRedis();
});
afterAll(() => server?.dispose());
const env = useTestEnvironment({ redisUrl: () => server.url });

const COUNT = 3000;
const W = 1000;
/** `crema up` without INFLUX_URL: one connection per stage, and the web server's subscriber. */
const CONNECTIONS = ['collector', 'processor', 'web', 'web-subscriber'];

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

/** The connection names of the log lines `msg`, as `<role>` of `crema:<role>:<host>`. */
function connections(up: CremaProcess, msg: string): string[] {
  return up
    .logLines(msg)
    .map((line) => String(line.connection).split(':')[1]!)
    .sort();
}

it('notices a Redis that hangs within seconds, says so once per connection, and counts exactly once it answers again', async () => {
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const [metricsPort, webPort] = [await freePort(), await freePort()];
  const up = new CremaProcess('up', [
    ...['--redis-url', server.url, '--prefix', t.prefix, '--file', file, '--metrics-port', String(metricsPort), '--web-port', String(webPort)],
    ...['--rate', '250', '--count', String(COUNT), '--seed', '7', '--window-seconds', '1', '--grace-seconds', '1', '--tick-ms', '200'],
  ]);
  env.onCleanup(() => up.kill9());
  const health = { metrics: `http://127.0.0.1:${metricsPort}/healthz`, web: `http://127.0.0.1:${webPort}/healthz` };
  const healthy = async () => [await status(health.metrics), await status(health.web)];
  await eventually(async () => (await healthy()).every((s) => s === 200), { message: () => `crema up never became healthy; logs:\n${up.logs.slice(-3000)}` });
  const stream = new SseTestClient(`http://127.0.0.1:${webPort}/api/stream`);
  env.onCleanup(() => stream.close());
  await stream.waitFor((c) => c.named('hello').length === 1, 'no hello');
  await eventually(async () => (await t.client.zcard(t.keys.windows)) > 0, { message: 'the pipeline is not counting' });

  server.pause();
  const pausedAt = Date.now();
  try {
    await eventually(async () => (await healthy()).every((s) => s === 503), {
      timeoutMs: 10_000,
      message: async () => `health while Redis hangs: ${JSON.stringify(await healthy())}; logs:\n${up.logs.slice(-3000)}`,
    });
    const noticedAfter = Date.now() - pausedAt;
    await stream.waitFor((c) => c.named('status').some((e) => e.data === '{"redis":"down"}'), 'the stream did not say redis: down');
    await eventually(() => connections(up, 'redis not answering').length === CONNECTIONS.length, {
      timeoutMs: 10_000,
      message: () => `not answering: ${JSON.stringify(connections(up, 'redis not answering'))}; logs:\n${up.logs.slice(-3000)}`,
    });
    expect(noticedAfter).toBeLessThan(8000);
    // Hanging a while longer says nothing more.
    const logged = up.logs.length;
    await eventually(() => Date.now() - pausedAt > 6000, { timeoutMs: 10_000, message: 'time stood still' });
    expect(up.logs.slice(logged)).not.toMatch(/redis not answering|unreachable/);
  } finally {
    server.resume();
  }

  await eventually(async () => (await healthy()).every((s) => s === 200), { timeoutMs: 15_000, message: () => `not healthy after SIGCONT; logs:\n${up.logs.slice(-3000)}` });
  await stream.waitFor((c) => c.named('status').some((e) => e.data === '{"redis":"up"}'), 'the stream did not say redis: up');
  await eventually(() => connections(up, 'redis answering again').length === CONNECTIONS.length, {
    timeoutMs: 10_000,
    message: () => `answering again: ${JSON.stringify(connections(up, 'redis answering again'))}`,
  });
  expect(connections(up, 'redis not answering')).toEqual(CONNECTIONS);
  expect(connections(up, 'redis answering again')).toEqual(CONNECTIONS);
  expect(up.logs).not.toMatch(/unreachable/);

  const lines = () => readFileSync(file, 'utf8').trimEnd().split('\n');
  await eventually(() => lines().length === COUNT, { timeoutMs: 30_000, message: () => `the generator wrote ${lines().length} of ${COUNT} orders` });
  const expected = expectedWindows(
    lines().map((line) => {
      const order = JSON.parse(line) as { orderedAt: string };
      return JSON.stringify({ ...order, orderedAt: Date.parse(order.orderedAt) });
    }),
    W,
  );
  await eventually(
    async () => {
      let total = 0;
      for (const start of expected.keys()) total += Number((await t.client.hget(t.keys.window(start), 'orders')) ?? 0);
      return total === COUNT && (await t.client.llen(t.keys.queue)) === 0;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: () => `not every order was counted; logs:\n${up.logs.slice(-3000)}` },
  );
  for (const [start, window] of expected) expect(countsOnly(await t.client.hgetall(t.keys.window(start)))).toEqual(expectedHash(window));

  // A Redis that dies and comes back: the client's own messages, if any, are Crema's log lines.
  await server.stop();
  await eventually(async () => (await status(health.metrics)) === 503, { message: 'a dead Redis went unnoticed' });
  await server.start();
  await eventually(async () => (await healthy()).every((s) => s === 200), { timeoutMs: 15_000, message: () => `not healthy after a restart; logs:\n${up.logs.slice(-3000)}` });
  expect((await up.terminate()).code).toBe(0);
  expect(up.stderr).toBe('');
  const notJson = up.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('{"level":'));
  expect(notJson).toEqual([]);
});
