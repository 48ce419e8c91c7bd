/**
 * kill -9 of real processor processes at random moments while two of them drain the queue:
 * afterwards every window's counts equal the truth computed from the file alone.
 */
import { writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { useTestEnvironment } from '../support/fixtures.js';

const W = 10_000;
const ORDERS = 60_000;
const KILLS = 12;
const env = useTestEnvironment();

it(`counts every order exactly once across ${KILLS} kill -9 of two processors`, async () => {
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const lines = orderLines(ORDERS, { seed: 21, firstStart: windowStart(Date.now(), W) - 6 * W, windows: 8, windowMs: W });
  writeFileSync(file, `${lines.join('\n')}\n`);
  const common = ['--redis-url', t.url, '--prefix', t.prefix];

  const collector = new CremaProcess('collect', [...common, '--file', file]);
  await eventually(async () => (await t.client.llen(t.keys.queue)) === ORDERS, { timeoutMs: 30_000, message: 'queue not filled' });
  await collector.terminate();

  // Small batches and short leases: many commits to interrupt, and dead consumers recovered quickly.
  const processorFlags = (consumer: string) => [...common, '--consumer', consumer, '--process-batch', '20', '--lease-seconds', '2', '--tick-ms', '200'];
  let generation = 0;
  const start = (slot: number) => {
    // Odd restarts reuse the slot's name (the consumer takes its own batch back at once),
    // even ones take a new name (the dead consumer's batch is recovered after its lease expires).
    const name = generation++ % 2 === 0 ? `p${slot}` : `p${slot}-${generation}`;
    return new CremaProcess('process', processorFlags(name));
  };
  const processors = [start(0), start(1)];
  const queueAtKills: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const slot = kill % 2;
    await processors[slot]!.waitForLog('lease taken');
    await new Promise((r) => setTimeout(r, 30 + Math.random() * 200));
    await processors[slot]!.kill9();
    queueAtKills.push(await t.client.llen(t.keys.queue));
    processors[slot] = start(slot);
  }

  await eventually(
    async () => (await t.client.llen(t.keys.queue)) === 0 && (await t.client.keys(`${t.prefix}processing:*`)).length === 0,
    { timeoutMs: 60_000, intervalMs: 200, message: 'queue not drained and committed' },
  );
  for (const p of processors) {
    const { code } = await p.terminate();
    expect(code, `exit code of a processor; its last logs:\n${p.logs.slice(-3000)}`).toBe(0);
  }

  expect(queueAtKills.filter((n) => n > 0).length, `queue lengths at the kills: ${queueAtKills}`).toBeGreaterThanOrEqual(10);
  const expected = expectedWindows(lines, W);
  const starts = (await t.client.zrange(t.keys.windows, '0', '-1')).map(Number).sort();
  expect(starts).toEqual([...expected.keys()].sort());
  for (const [startMs, window] of expected) {
    expect(countsOnly(await t.client.hgetall(t.keys.window(startMs))), `window ${new Date(startMs).toISOString()}`).toEqual(expectedHash(window));
  }
  expect(await t.client.zcard(t.keys.deadIndex), 'dead letters').toBe(0);
});
