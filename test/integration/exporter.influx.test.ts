/** The exporter against a real Redis and a real InfluxDB: final, revised and provisional windows, outages. */
import { closeServer, listen } from '../../core/http-server.js';
import { type Server, createServer, request } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../core/keys.js';
import { createMetrics } from '../../core/metrics.js';
import { Scripts } from '../../core/scripts.js';
import { allShards, shardPrefix } from '../../core/shards.js';
import { windowStart } from '../../core/windows.js';
import type { Exporter } from '../../exporter/exporter.js';
import { InfluxWriter } from '../../exporter/influx-writer.js';
import { eventually } from '../support/eventually.js';
import { LineWriter } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { metricValue } from '../support/metrics.js';
import { type InfluxServer, startPrivateInfluxDB } from '../support/influx.js';
import { influxLines, redisLines } from '../support/influx-truth.js';
import { orderLines } from '../support/orders.js';

let influx: InfluxServer;
beforeAll(async () => {
  influx = await startPrivateInfluxDB();
}, 60_000);
afterAll(() => influx.dispose());

const env = useTestEnvironment();
let database: string;
beforeEach(async () => {
  database = await influx.createDatabase();
});

/** A log that keeps its lines, to count state-change messages. */
function recordingLog() {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), count: (msg: string) => lines.filter((l) => l.msg.startsWith(msg)).length };
}

async function expectInfluxMatchesRedis(timeoutMs = 20_000): Promise<void> {
  let last: { influx: string[]; redis: string[] } = { influx: [], redis: [] };
  await eventually(
    async () => {
      last = { influx: await influxLines(influx, database), redis: await redisLines(env.redis.client, env.redis.keys) };
      return last.redis.length > 0 && JSON.stringify(last.influx) === JSON.stringify(last.redis);
    },
    { timeoutMs, intervalMs: 200, message: () => `InfluxDB never matched Redis: ${last.influx.length} points in InfluxDB, ${last.redis.length} expected; first difference: ${last.redis.find((l) => !last.influx.includes(l)) ?? last.influx.find((l) => !last.redis.includes(l))}` },
  );
}

const W = 10_000;

describe('exporter', () => {
  it('writes every closed window once, with every dimension, and a revision overwrites it', async () => {
    const file = env.dir.file('orders.jsonl');
    const firstStart = windowStart(Date.now(), W) - 20 * W;
    const lines = orderLines(3000, { seed: 5, firstStart, windowMs: W, windows: 6 });
    const writer = new LineWriter(file);
    writer.write(`${lines.join('\n')}\n`);
    env.startCollector([file]);
    env.startProcessor();
    env.startExporter(influx, database);
    await expectInfluxMatchesRedis();
    const windows = await influx.query(database, 'SELECT count("orders") AS n, sum("orders") AS orders FROM "windows"');
    expect(windows[0]!.values[0]!.slice(1)).toEqual([6, 3000]);
    // 6 windows × (1 + 9 coffees + 3 payment methods + 10 age grades)
    expect(await influxLines(influx, database)).toHaveLength(6 * 23);
    // The checkpoint moves after InfluxDB acknowledged the write, so it may follow a moment later.
    const events = await env.redis.client.xrange(env.redis.keys.changes, '-', '+');
    await eventually(async () => (await env.redis.client.get(env.redis.keys.exportCheckpoint)) === events.at(-1)![0], {
      message: async () => `the checkpoint is ${await env.redis.client.get(env.redis.keys.exportCheckpoint)}, not the last change ${events.at(-1)![0]}`,
    });

    // Late orders for a closed window: counted in it, marked revised, re-exported in place.
    // (Earlier batches may already have been late: these windows lie in the past.)
    const lateBefore = Number((await env.redis.client.hget(env.redis.keys.window(firstStart), 'late')) ?? 0);
    const late = orderLines(40, { seed: 6, firstStart, windowMs: W, windows: 1 });
    writer.write(`${late.join('\n')}\n`);
    await eventually(async () => (await env.redis.client.xlen(env.redis.keys.changes)) > events.length, { message: 'no revision event' });
    await expectInfluxMatchesRedis();
    const revised = await influx.query(database, `SELECT "orders", "late", "final" FROM "windows" WHERE time = ${firstStart}ms`);
    expect(revised[0]!.values).toEqual([[firstStart, lines.filter((l) => JSON.parse(l).orderedAt < firstStart + W).length + 40, lateBefore + 40, true]]);
    expect(await influxLines(influx, database)).toHaveLength(6 * 23);
  });

  it('writes open windows as provisional points, replaced by the final one', async () => {
    const file = env.dir.file('orders.jsonl');
    const writer = new LineWriter(file);
    const now = Date.now();
    const start = windowStart(now, 2000);
    writer.write(`${JSON.stringify({ customerAgeGrade: '1020', paymentMethod: 'Cash', orders: ['Espresso', 'Americano'], orderedAt: now })}\n`);
    env.startCollector([file]);
    env.startProcessor({ windowMs: 2000, graceMs: 2000 });
    env.startExporter(influx, database, { provisionalMs: 100 });
    const row = async () => (await influx.query(database, `SELECT "orders", "drinks", "final" FROM "windows" WHERE time = ${start}ms`))[0]?.values[0];
    await eventually(async () => JSON.stringify(await row()) === JSON.stringify([start, 1, 2, false]), { message: 'no provisional point' });
    await eventually(async () => JSON.stringify(await row()) === JSON.stringify([start, 1, 2, true]), { timeoutMs: 10_000, message: 'provisional point not replaced by the final one' });
    await expectInfluxMatchesRedis();
  });

  it('holds its checkpoint while InfluxDB is down, logs once per state change, and loses nothing', async () => {
    const file = env.dir.file('orders.jsonl');
    const writer = new LineWriter(file);
    const firstStart = windowStart(Date.now(), 1000) - 600_000;
    const lines = orderLines(6000, { seed: 8, firstStart, windowMs: 1000, windows: 300 });
    const { log, count } = recordingLog();
    const metrics = createMetrics('test-host');
    env.startCollector([file]);
    env.startProcessor({ windowMs: 1000, graceMs: 1000 });
    const exporter: Exporter = env.startExporter(influx, database, { log, metrics, batchWindows: 20 });
    writer.write(`${lines.slice(0, 2000).join('\n')}\n`);
    await eventually(async () => (await env.redis.client.get(env.redis.keys.exportCheckpoint)) !== null, { message: 'nothing exported' });

    await influx.stop();
    writer.write(`${lines.slice(2000).join('\n')}\n`);
    await eventually(() => count('export failed') === 1, { message: 'the outage was not logged' });
    const held = await env.redis.client.get(env.redis.keys.exportCheckpoint);
    const failures = () => metricValue(metrics, 'coffee_errors_total', { stage: 'exporter' });
    const failedBefore = await failures();
    await eventually(async () => (await failures()) >= failedBefore + 3, { message: 'the exporter did not retry while InfluxDB was down' });
    expect(await env.redis.client.get(env.redis.keys.exportCheckpoint)).toBe(held);
    expect(count('export failed')).toBe(1);
    expect(await env.redis.client.xlen(env.redis.keys.changes)).toBeGreaterThan(0);

    await influx.start();
    await expectInfluxMatchesRedis(30_000);
    expect(count('exporting again')).toBe(1);
    expect(count('export failed')).toBe(1);
    const windows = await influx.query(database, 'SELECT count("orders") AS n, sum("orders") AS orders FROM "windows"');
    expect(windows[0]!.values[0]!.slice(1)).toEqual([(await env.redis.client.zcard(env.redis.keys.windows)), 6000]);
    await exporter.close();
  });

  it('times out on a slow InfluxDB, retries, and loses nothing once it answers again', async () => {
    const slow = await slowProxy(new URL(influx.url));
    try {
      const file = env.dir.file('orders.jsonl');
      const lines = orderLines(500, { seed: 9, firstStart: windowStart(Date.now(), W) - 10 * W, windowMs: W, windows: 4 });
      const { log, count } = recordingLog();
      const metrics = createMetrics('test-host');
      const metric = (name: string, labels: Record<string, string> = {}) => metricValue(metrics, name, labels);
      slow.delayMs = 5000; // longer than the writer's 2 s timeout
      new LineWriter(file).write(`${lines.join('\n')}\n`);
      env.startCollector([file]);
      env.startProcessor();
      env.startExporter({ ...influx, url: slow.url }, database, { log, metrics });
      await eventually(() => count('export failed') === 1, { timeoutMs: 10_000, message: 'the timeout was not logged' });
      expect(await env.redis.client.get(env.redis.keys.exportCheckpoint)).toBeNull();
      expect(await metric('coffee_errors_total', { stage: 'exporter', type: 'influx_timeout' })).toBeGreaterThan(0);
      expect(await metric('coffee_exporter_influx_up')).toBe(0);

      slow.delayMs = 0;
      // The timed-out writes may have landed anyway: only the exporter's recovery proves it caught up.
      await eventually(() => count('exporting again') === 1, { timeoutMs: 30_000, message: 'the exporter did not recover' });
      await eventually(async () => (await env.redis.client.get(env.redis.keys.exportCheckpoint)) === (await env.redis.client.xrevrange(env.redis.keys.changes, '+', '-', 'COUNT', 1))[0]?.[0], {
        timeoutMs: 30_000,
        message: 'the checkpoint did not reach the end of the stream',
      });
      await expectInfluxMatchesRedis(30_000);
      expect(await metric('coffee_exporter_influx_up')).toBe(1);
      expect(await influxLines(influx, database)).toHaveLength(4 * 23);
    } finally {
      await slow.close();
    }
  });

  it('closes within seconds while a write hangs, without moving the checkpoint', async () => {
    const slow = await slowProxy(new URL(influx.url));
    try {
      slow.delayMs = 60_000;
      const file = env.dir.file('orders.jsonl');
      new LineWriter(file).write(`${orderLines(50, { seed: 10, firstStart: windowStart(Date.now(), W) - 5 * W, windowMs: W, windows: 2 }).join('\n')}\n`);
      env.startCollector([file]);
      env.startProcessor();
      const exporter = env.startExporter({ ...influx, url: slow.url }, database, { sink: new InfluxWriter({ url: slow.url, token: influx.token, org: '', bucket: `${database}/autogen`, timeoutMs: 60_000 }) });
      await eventually(() => slow.pending > 0, { message: 'no write reached InfluxDB' });
      const started = Date.now();
      await env.stop(exporter);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await env.redis.client.get(env.redis.keys.exportCheckpoint)).toBeNull();
    } finally {
      await slow.close();
    }
  });
});

/** A proxy in front of InfluxDB that holds every answer back for `delayMs`: a slow server. */
async function slowProxy(target: URL): Promise<{ url: string; delayMs: number; pending: number; close(): Promise<void> }> {
  const state = { delayMs: 0, pending: 0 };
  const server: Server = createServer((req, res) => {
    state.pending++;
    res.on('close', () => state.pending--);
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      setTimeout(() => {
        if (res.destroyed) return void answer.resume();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }, state.delayMs);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const { port } = await listen(server, 0, '127.0.0.1');
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
  });
}

describe('exporter over several shards', () => {
  it('writes each window once, summed over the shards, final when every shard closed it, with a checkpoint per shard', async () => {
    const redis = await env.redis.connected();
    const shards = allShards(3).map((i) => new RedisKeys(shardPrefix(env.redis.prefix, i, 3, false)));
    env.onCleanup(async () => {
      const keys = await env.redis.client.keys(`{${env.redis.prefix}*`);
      if (keys.length > 0) await env.redis.client.unlink(...keys);
    });
    const rules = { windowMs: W, graceMs: W, retentionMs: 86_400_000 };
    const now = windowStart(Date.now(), W);
    const [a, b] = [now - 6 * W, now - 5 * W];
    // Window a: counted by shards 0 and 1; window b: by shard 2 only.
    const parts: [number, number, number][] = [[0, a, 3], [1, a, 4], [2, b, 5]];
    for (const [shard, start, orders] of parts) {
      const scripts = new Scripts(redis, shards[shard]!);
      const lease = { consumer: 'p', token: `t${shard}`, leaseMs: 10_000 };
      await scripts.acquireLease(lease);
      await env.redis.client.rpush(shards[shard]!.queue, ...Array.from({ length: orders }, (_, i) => `e-${shard}-${start}-${i}`));
      const claimed = await scripts.claimBatch(lease, 'next', orders);
      const fields = new Map([['orders', orders], ['drinks', orders], ['coffee:Espresso', orders], ['payment:Cash', orders], ['age:1020', orders]]);
      await scripts.commitBatch(lease, { envelopes: claimed, dead: [], windows: new Map([[start, { orders, fields }]]) }, rules);
    }
    // Every shard closes both windows (shard 2 never had window a, shards 0 and 1 never had b).
    for (const keys of shards) await new Scripts(redis, keys).tick(now, rules);
    env.startExporter(influx, database, { shards });
    const windows = async () => (await influx.query(database, 'SELECT "orders", "final" FROM "windows"'))[0]?.values ?? [];
    await eventually(async () => (await windows()).length === 2 && (await windows()).every((row) => row[2] === true), {
      message: async () => `InfluxDB holds ${JSON.stringify(await windows())}`,
    });
    expect((await windows()).map((row) => [Number(row[0]), row[1], row[2]])).toEqual([
      [a, 7, true],
      [b, 5, true],
    ]);
    const coffee = await influx.query(database, `SELECT "drinks" FROM "drinks_by_coffee" WHERE "coffee" = 'Espresso'`);
    expect(coffee[0]!.values.map((row) => row[1])).toEqual([7, 5]);
    // Each shard's checkpoint is the last entry of its own stream.
    for (const keys of shards) {
      const [last] = await env.redis.client.xrevrange(keys.changes, '+', '-', 'COUNT', 1);
      await eventually(async () => (await env.redis.client.get(keys.exportCheckpoint)) === last![0], { message: `checkpoint of ${keys.prefix}` });
    }
  });
});
