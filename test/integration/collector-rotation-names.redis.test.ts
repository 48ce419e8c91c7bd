/**
 * The collector reads a sibling of the followed file only when its name is a rotation of the
 * followed name: copies beside it (backups, editor files, temporary files) are never read, so
 * their lines are never counted a second time.
 */
import { copyFileSync, renameSync } from 'node:fs';
import { afterEach, beforeEach, it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { eventually } from '../support/eventually.js';
import { LineWriter, rotate, tempDir } from '../support/files.js';
import { expectExactlyOnce, queuedEnvelopes } from '../support/queue.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { testCollector } from '../support/stages.js';

let t: TestRedis;
let dir: ReturnType<typeof tempDir>;
const running: Collector[] = [];

beforeEach(() => {
  t = testRedis();
  dir = tempDir();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.close()));
  await t.cleanup();
  dir.remove();
});

function start(files: string[]): Collector {
  const collector = testCollector(t, files);
  running.push(collector);
  void collector.start();
  return collector;
}

async function stop(collector: Collector): Promise<void> {
  await collector.close();
  running.splice(running.indexOf(collector), 1);
}

const queueLength = () => t.client.llen(t.keys.queue);

/** Waits for `n` envelopes, lets a duplicate show up if there is one, then checks lines 0…n-1 once each. */
async function expectQueueToHoldExactly(n: number): Promise<void> {
  await eventually(async () => (await queueLength()) >= n, { message: async () => `queue did not reach ${n} (has ${await queueLength()})` });
  await new Promise((r) => setTimeout(r, 300));
  expectExactlyOnce(await queuedEnvelopes(t.client, t.keys.queue), n);
}

const COPIES = ['orders.jsonl.backup', 'orders.jsonl~', '.orders.jsonl.swp', 'orders.jsonl.bak', 'orders.jsonl.tmp'];

it('never reads a copy beside the followed file when the path is rotated while it runs', async () => {
  const file = dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(1000);
  start([file]);
  await expectQueueToHoldExactly(1000);
  // Copies made after the followed file was born and before the next one: in the window the
  // collector searches for files rotated away unseen.
  for (const copy of COPIES) copyFileSync(file, dir.file(copy));
  rotate(file);
  writer.reopen();
  writer.lines(500);
  await expectQueueToHoldExactly(1500);
});

it('never reads a copy beside the followed file after a restart', async () => {
  const file = dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(1000);
  const first = start([file]);
  await expectQueueToHoldExactly(1000);
  await stop(first);
  for (const copy of COPIES) copyFileSync(file, dir.file(copy));
  rotate(file);
  writer.reopen();
  writer.lines(500);
  start([file]);
  await expectQueueToHoldExactly(1500);
});

it('reads files rotated while it was down under every documented name', async () => {
  const file = dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(100);
  const first = start([file]);
  await expectQueueToHoldExactly(100);
  await stop(first);
  // The followed file gets more lines and is rotated away; so are the next files, each under
  // another naming scheme, before the collector is back.
  const names = [
    'orders.jsonl-20261122',
    'orders.jsonl.2026-11-22T10:15:00',
    'orders.jsonl.20261122T101500',
    'orders.jsonl-2026112211',
    'orders.jsonl.2',
    'orders.jsonl.1',
  ];
  for (const rotated of names) {
    writer.lines(100);
    renameSync(file, dir.file(rotated));
    writer.reopen();
  }
  writer.lines(100);
  start([file]);
  await expectQueueToHoldExactly(800);
});
