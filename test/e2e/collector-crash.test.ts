/**
 * kill -9 of the real collector process at random moments while it ingests a 100k-line file:
 * afterwards every line is in the queue exactly once (by envelope id).
 */
import { writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { expectExactlyOnce, queuedEnvelopes } from '../support/queue.js';
import { useTestEnvironment } from '../support/fixtures.js';

const LINES = 100_000;
const KILLS = 12;
const env = useTestEnvironment();

it(`loses and duplicates no line across ${KILLS} kill -9 of the collector`, async () => {
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  let text = '';
  for (let n = 0; n < LINES; n++) text += `{"n":${n}}\n`;
  writeFileSync(file, text);
  // Small batches so that ingestion takes long enough to be killed in the middle of it.
  const flags = ['--file', file, '--redis-url', t.url, '--prefix', t.prefix, '--collect-batch', '10'];
  const seenAtKills: number[] = [];

  for (let kill = 0; kill < KILLS; kill++) {
    const collector = new CremaProcess('collect', flags);
    await collector.waitForLog('following file');
    // Killed once it has pushed something, soon after: a fast collector (Node 24) would otherwise
    // have pushed the whole file within a few lives, and the later kills would meet a full queue.
    const before = seenAtKills.at(-1) ?? 0;
    await eventually(async () => (await t.client.llen(t.keys.queue)) > before, { timeoutMs: 30_000, intervalMs: 2, message: 'the collector pushed nothing' });
    await new Promise((r) => setTimeout(r, Math.random() * 30));
    await collector.kill9();
    seenAtKills.push(await t.client.llen(t.keys.queue));
  }
  const last = new CremaProcess('collect', flags);
  // Started, not merely spawned: a killed collector may already have pushed the whole file, and a
  // SIGTERM before the last one has started would end it before it could shut down cleanly.
  await last.waitForLog('following file');
  // The stored position reaches the end of the file only with the push of its last line: every
  // push before it, duplicates included, is in the queue by then.
  const size = Buffer.byteLength(text);
  await eventually(async () => Object.values(await t.client.hgetall(t.keys.offsets)).some((position) => position.endsWith(`:${size}`)), {
    timeoutMs: 60_000,
    intervalMs: 200,
    message: async () => `the collector did not reach the end of the file (queue: ${await t.client.llen(t.keys.queue)})`,
  });
  const exit = await last.terminate();
  expect(exit, `crema collect did not stop cleanly on SIGTERM; its last output:\n${last.logs.slice(-3000)}`).toEqual({ code: 0, signal: null });

  // The kills hit the middle of the ingestion, not a finished queue.
  expect(seenAtKills.filter((n) => n > 0 && n < LINES).length, `queue lengths at the kills: ${seenAtKills}`).toBeGreaterThanOrEqual(10);
  expectExactlyOnce(await queuedEnvelopes(t.client, t.keys.queue), LINES);
});
