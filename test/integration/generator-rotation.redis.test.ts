/**
 * The generator's file does not grow without bound: past a size it is renamed to `<file>.1` (older
 * ones shift to `.2`, `.3`, …, the oldest beyond the kept number is deleted), and the collector,
 * which follows rename rotation, loses nothing and counts nothing twice.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { createOrderValidator } from '../../core/order.js';
import { Generator } from '../../generator/generator.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { collectorCaughtUp, queuedEnvelopes } from '../support/queue.js';
import { silentLog } from '../support/stages.js';

const env = useTestEnvironment();
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

it('renames its file past the size and keeps the configured number of old files', async () => {
  const file = env.dir.file('orders.jsonl');
  const rotateBytes = 20_000;
  const generator = new Generator({ file, catalog: DEFAULT_CATALOG, rate: 5000, count: 3000, seed: 1, orderedAt: true, bulk: false, rotateBytes, rotateKeep: 2, log: silentLog });
  await generator.start();
  expect(readdirSync(env.dir.path).sort()).toEqual(['orders.jsonl', 'orders.jsonl.1', 'orders.jsonl.2']);
  for (const old of [`${file}.1`, `${file}.2`]) expect(statSync(old).size).toBeGreaterThanOrEqual(rotateBytes);
  expect(statSync(file).size).toBeLessThan(statSync(`${file}.1`).size + rotateBytes);
  const validate = createOrderValidator(DEFAULT_CATALOG);
  const kept = [file, `${file}.1`, `${file}.2`].flatMap(lines);
  for (const line of kept) expect(validate(line).ok, line).toBe(true);
  // 3000 orders of ~100 bytes are far more than three files of 20 kB: the oldest were deleted.
  expect(kept.length).toBeLessThan(3000);
});

it('crema generate rotating its file while the collector follows it: every order is queued exactly once', async () => {
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const collector = env.startCollector([file]);
  const count = 6000;
  // About 30 kB per file: some twenty rotations, all kept so that the files can be compared with the queue.
  const generator = new CremaProcess('generate', ['--file', file, '--rate', '1500', '--count', String(count), '--rotate-mb', '0.03', '--rotate-keep', '100']);
  expect((await generator.exited).code, generator.logs).toBe(0);
  const rotated = readdirSync(dir.path).filter((name) => /^orders\.jsonl\.\d+$/.test(name));
  expect(rotated.length).toBeGreaterThanOrEqual(10);
  expect(existsSync(`${file}.${rotated.length + 1}`)).toBe(false);
  const written = [file, ...rotated.map((name) => dir.file(name))].flatMap(lines);
  expect(written).toHaveLength(count);

  await eventually(async () => (await t.client.llen(t.keys.queue)) >= count, {
    timeoutMs: 30_000,
    message: async () => `the queue holds ${await t.client.llen(t.keys.queue)} of ${count} orders`,
  });
  await collectorCaughtUp(collector);
  const envelopes = await queuedEnvelopes(t.client, t.keys.queue);
  expect(new Set(envelopes.map((e) => e.id)).size).toBe(envelopes.length);
  expect(envelopes.map((e) => e.line).sort()).toEqual(written.sort());
});
