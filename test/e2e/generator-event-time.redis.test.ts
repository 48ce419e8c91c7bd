/**
 * `crema generate` stamps every order with `orderedAt` unless told not to, so that a stall in the
 * pipeline shows up as orders counted in the windows they were placed in (late, where a window had
 * already closed), not as empty windows followed by a spike when the pipeline catches up.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';

const env = useTestEnvironment();

function generate(flags: string[], extraEnv: NodeJS.ProcessEnv = {}): CremaProcess {
  const child = new CremaProcess('generate', flags, extraEnv);
  env.onCleanup(() => child.kill9());
  return child;
}

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { orderedAt?: string });

describe('crema generate', () => {
  it('stamps orderedAt by default; --no-ordered-at and CREMA_ORDERED_AT=false turn it off', async () => {
    const file = (name: string) => env.dir.file(name);
    const bulk = ['--bulk', '--count', '200'];
    const runs = [
      generate(['--file', file('default.jsonl'), ...bulk]),
      generate(['--file', file('flag.jsonl'), ...bulk, '--no-ordered-at']),
      generate(['--file', file('env.jsonl'), ...bulk], { CREMA_ORDERED_AT: 'false' }),
    ];
    for (const run of runs) expect((await run.exited).code, run.logs).toBe(0);
    const stamped = readLines(file('default.jsonl'));
    expect(stamped).toHaveLength(200);
    for (const order of stamped) expect(Date.now() - Date.parse(order.orderedAt ?? 'missing')).toBeLessThan(60_000);
    for (const name of ['flag.jsonl', 'env.jsonl']) {
      const lines = readLines(file(name));
      expect(lines).toHaveLength(200);
      expect(lines.filter((order) => 'orderedAt' in order)).toEqual([]);
    }
  });

  it('a stalled collector: orders are counted in the windows they were placed in, late where the window had closed', async () => {
    const { redis: t, dir } = env;
    const file = dir.file('orders.jsonl');
    const W = 1000;
    const windowOf = (ms: number) => Math.floor(ms / W) * W;
    env.startProcessor({ windowMs: W, graceMs: 0, tickMs: 50 });
    const generator = generate(['--file', file, '--rate', '200']);
    let collector = env.startCollector([file]);
    void collector.start();
    const counted = async (start: number) => Number((await t.client.hget(t.keys.window(start), 'orders')) ?? 0);

    // Stall early in a window the pipeline has already counted orders in.
    let stalled = 0;
    await eventually(
      async () => {
        const now = Date.now();
        stalled = windowOf(now);
        return now - stalled < 300 && (await counted(stalled)) > 0;
      },
      { timeoutMs: 20_000, intervalMs: 10, message: 'the pipeline counted nothing' },
    );
    await env.stop(collector);
    const stalledAt = Date.now();
    const [position] = await t.client.hvals(t.keys.offsets);
    const pushedBytes = Number(position!.split(':')[1]);
    // The window closes during the stall, and the stall lasts several more windows.
    await eventually(async () => (await t.client.hget(t.keys.window(stalled), 'final')) === '1', { message: 'the stalled window did not close' });
    await eventually(() => Date.now() >= stalledAt + 3 * W, { timeoutMs: 10_000, message: 'time stood still' });
    expect((await generator.terminate()).code).toBe(0);

    collector = env.startCollector([file]);
    void collector.start();
    const text = readFileSync(file, 'utf8');
    const orders = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { orderedAt?: string });
    const times = orders.map((order) => Date.parse(order.orderedAt ?? ''));
    expect(times.filter(Number.isNaN), 'lines without orderedAt').toEqual([]);
    const expected = new Map<number, number>();
    for (const time of times) expected.set(windowOf(time), (expected.get(windowOf(time)) ?? 0) + 1);
    const total = async () => {
      let sum = 0;
      for (const start of expected.keys()) sum += await counted(start);
      return sum;
    };
    await eventually(async () => (await total()) === orders.length, { timeoutMs: 30_000, message: async () => `counted ${await total()} of ${orders.length} orders` });

    // Every window holds exactly the orders placed in it, including the windows of the stall.
    const actual = new Map<number, number>();
    for (const start of expected.keys()) actual.set(start, await counted(start));
    expect(actual).toEqual(expected);
    const stallWindows = [...expected.keys()].filter((start) => start > stalled && start + W <= stalledAt + 3 * W);
    expect(stallWindows.length).toBeGreaterThanOrEqual(2);
    for (const start of stallWindows) expect(actual.get(start), `window ${new Date(start).toISOString()}`).toBeGreaterThan(0);
    // The window the stall began in had closed: what reached it afterwards is counted as late.
    const stalledLines = text
      .slice(Buffer.from(text).subarray(0, pushedBytes).toString().length)
      .split('\n')
      .filter(Boolean)
      .filter((line) => windowOf(Date.parse((JSON.parse(line) as { orderedAt: string }).orderedAt)) === stalled).length;
    expect(stalledLines).toBeGreaterThan(0);
    expect(Number(await t.client.hget(t.keys.window(stalled), 'late'))).toBeGreaterThanOrEqual(stalledLines);
  });
});
