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
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
    await collector.kill9();
    seenAtKills.push(await t.client.llen(t.keys.queue));
  }
  const last = new CremaProcess('collect', flags);
  // The stored position reaches the end of the file only with the push of its last line: every
  // push before it, duplicates included, is in the queue by then.
  const size = Buffer.byteLength(text);
  await eventually(async () => Object.values(await t.client.hgetall(t.keys.offsets)).some((position) => position.endsWith(`:${size}`)), {
    timeoutMs: 60_000,
    intervalMs: 200,
    message: async () => `the collector did not reach the end of the file (queue: ${await t.client.llen(t.keys.queue)})`,
  });
  expect((await last.terminate()).code).toBe(0);

  // The kills hit the middle of the ingestion, not a finished queue.
  expect(seenAtKills.filter((n) => n > 0 && n < LINES).length, `queue lengths at the kills: ${seenAtKills}`).toBeGreaterThanOrEqual(10);
  expectExactlyOnce(await queuedEnvelopes(t.client, t.keys.queue), LINES);
});
