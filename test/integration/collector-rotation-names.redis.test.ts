/**
 * The collector reads a sibling of the followed file only when its name is a rotation of the
 * followed name: copies beside it (backups, editor files, temporary files) are never read, so
 * their lines are never counted a second time.
 */
import { copyFileSync, renameSync } from 'node:fs';
import { it } from 'vitest';
import type { Collector } from '../../collector/collector.js';
import { LineWriter, rotate } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { expectCollectedExactly } from '../support/queue.js';

const env = useTestEnvironment();
const start: typeof env.startCollector = (files, overrides) => env.startCollector(files, overrides);

/** Waits until the queue holds `n` envelopes and `collector` has caught up, then checks lines 0…n-1 once each. */
const expectQueueToHoldExactly = (collector: Collector, n: number) => expectCollectedExactly(env.redis.client, env.redis.keys.queue, collector, n);

const COPIES = ['orders.jsonl.backup', 'orders.jsonl~', '.orders.jsonl.swp', 'orders.jsonl.bak', 'orders.jsonl.tmp'];

it('never reads a copy beside the followed file when the path is rotated while it runs', async () => {
  const file = env.dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(1000);
  const collector = start([file]);
  await expectQueueToHoldExactly(collector, 1000);
  // Copies made after the followed file was born and before the next one: in the window the
  // collector searches for files rotated away unseen.
  for (const copy of COPIES) copyFileSync(file, env.dir.file(copy));
  rotate(file);
  writer.reopen();
  writer.lines(500);
  await expectQueueToHoldExactly(collector, 1500);
});

it('never reads a copy beside the followed file after a restart', async () => {
  const file = env.dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(1000);
  const first = start([file]);
  await expectQueueToHoldExactly(first, 1000);
  await env.stop(first);
  for (const copy of COPIES) copyFileSync(file, env.dir.file(copy));
  rotate(file);
  writer.reopen();
  writer.lines(500);
  await expectQueueToHoldExactly(start([file]), 1500);
});

it('reads files rotated while it was down under every documented name', async () => {
  const file = env.dir.file('orders.jsonl');
  const writer = new LineWriter(file);
  writer.lines(100);
  const first = start([file]);
  await expectQueueToHoldExactly(first, 100);
  await env.stop(first);
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
    renameSync(file, env.dir.file(rotated));
    writer.reopen();
  }
  writer.lines(100);
  await expectQueueToHoldExactly(start([file]), 800);
});
