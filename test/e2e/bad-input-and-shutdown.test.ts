/**
 * The real collector and processor on a file that mixes valid orders with every kind of bad line:
 * each bad line lands in the dead-letter list with its reason, each valid order is counted once,
 * no stage exits; then SIGTERM stops both cleanly.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { CremaProcess } from '../support/crema-process.js';
import { deadLetterCount, storedDeadLetters } from '../support/dead-letters.js';
import { eventually } from '../support/eventually.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { useTestEnvironment } from '../support/fixtures.js';

const W = 10_000;
const env = useTestEnvironment();

it('dead-letters bad input with reasons, counts the rest once, and shuts down cleanly on SIGTERM', async () => {
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const good = orderLines(3000, { seed: 31, firstStart: windowStart(Date.now(), W) - 2 * W, windows: 3, windowMs: W });
  const bad: [Buffer, string][] = [
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espre'), 'invalid_json'],
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"]}}'), 'invalid_json'],
    [Buffer.from('{"customerAgeGrade":["1020"],"paymentMethod":"Cash","orders":["Espresso"]}'), 'wrong_type'],
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso",{"x":1}]}'), 'wrong_type'],
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"IOU","orders":["Espresso"]}'), 'unknown_value'],
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Frappuccino"]}'), 'unknown_value'],
    [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":[]}'), 'empty_orders'],
    [Buffer.from('{"paymentMethod":"Cash","orders":["Espresso"]}'), 'missing_field'],
    [Buffer.from([0x00, 0xff, 0xfe, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x1a, 0x00, 0xc3, 0x28, 0x7b]), 'invalid_json'],
    [Buffer.from(`{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`), 'line_too_long'],
    [Buffer.from(''), 'empty_line'],
  ];
  const parts: Buffer[] = [];
  good.forEach((line, i) => {
    parts.push(Buffer.from(`${line}\n`));
    if (i % 250 === 0 && bad[i / 250]) parts.push(Buffer.concat([bad[i / 250]![0], Buffer.from('\n')]));
  });
  const content = Buffer.concat(parts);
  const half = content.indexOf(10, content.length >> 1) + 1;
  writeFileSync(file, content.subarray(0, half));

  const common = ['--redis-url', t.url, '--prefix', t.prefix];
  const collector = new CremaProcess('collect', [...common, '--file', file]);
  const processor = new CremaProcess('process', [...common, '--consumer', 'p1', '--tick-ms', '200']);
  await collector.waitForLog('following file');
  appendFileSync(file, content.subarray(half)); // the rest arrives while both run

  await eventually(async () => (await deadLetterCount(t.client, t.keys)) === bad.length, { timeoutMs: 30_000, message: async () => `dead letters: ${await deadLetterCount(t.client, t.keys)} of ${bad.length}` });
  const expected = expectedWindows(good, W);
  await eventually(
    async () => {
      let total = 0;
      for (const start of expected.keys()) total += Number((await t.client.hget(t.keys.window(start), 'orders')) ?? 0);
      return total === good.length;
    },
    { timeoutMs: 30_000, message: 'valid orders not all counted' },
  );
  for (const [start, window] of expected) expect(countsOnly(await t.client.hgetall(t.keys.window(start)))).toEqual(expectedHash(window));

  const dead = await storedDeadLetters(t.client, t.keys);
  expect(dead.map((d) => d.reason)).toEqual(bad.map(([, reason]) => reason));
  for (const d of dead) {
    expect(d.envelopeHeader?.id).toMatch(/^[0-9a-f]{16}\.0:\d+$/);
    expect(d.message.length).toBeGreaterThan(5);
  }
  // Each keeps the bytes of its line as read (a line too long, its first 4 KiB).
  expect(dead.map((d) => d.line.toString('hex'))).toEqual(bad.map(([line]) => line.subarray(0, 4096).toString('hex')));

  // Nothing exited on bad input; SIGTERM stops both within seconds, leaving nothing claimed.
  const stopping = Date.now();
  const [c, p] = await Promise.all([collector.terminate(), processor.terminate()]);
  expect({ collector: c.code, processor: p.code }).toEqual({ collector: 0, processor: 0 });
  expect(Date.now() - stopping).toBeLessThan(5000);
  expect(await t.client.exists(t.keys.lease('p1'), t.keys.processing('p1'))).toBe(0);
  expect(await t.client.smembers(t.keys.consumers)).toEqual([]);
  expect(collector.logs).toContain('"msg":"stopped"');
});
