/**
 * What the real stages say about their progress in the log: one JSON line per change of state,
 * never one per batch. The collector says how far behind a large file it is while it catches up,
 * and when it has caught up; the processor says when a backlog is drained; dead letters are
 * logged as a count per reason and interval.
 */
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { CremaProcess, type LogEntry } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { orderLines } from '../support/orders.js';

const W = 10_000;
const env = useTestEnvironment();
/** A stage of the running test, killed when the test ends. */
function start(command: string, flags: string[]): CremaProcess {
  const child = new CremaProcess(command, ['--redis-url', env.redis.url, '--prefix', env.redis.prefix, ...flags]);
  env.onCleanup(() => child.kill9());
  return child;
}

const withMsg = (entries: LogEntry[], prefix: string) => entries.filter((e) => e.msg.startsWith(prefix));

/** `count` lines of 35 bytes, `{"n":…}` with the line's number. */
function numberedLines(from: number, count: number): string {
  let text = '';
  for (let n = from; n < from + count; n++) text += `{"n":${String(n).padStart(7, '0')},"pad":"${'x'.repeat(12)}"}\n`;
  return text;
}

async function queueHas(n: number, timeoutMs = 60_000): Promise<void> {
  const t = env.redis;
  await eventually(async () => (await t.client.llen(t.keys.queue)) === n, { timeoutMs, intervalMs: 100, message: async () => `queue has ${await t.client.llen(t.keys.queue)} of ${n}` });
}

it('collect: says how far behind a large file it is while catching up (bounded, not per batch), and once when it has caught up', async () => {
  const file = env.dir.file('orders.jsonl');
  const LINES = 100_000; // 3.5 MB, read 20 lines per push: 5,000 pushes
  writeFileSync(file, numberedLines(0, LINES));
  const size = statSync(file).size;
  const started = Date.now();
  const collector = start('collect', ['--file', file, '--collect-batch', '20', '--poll-ms', '20']);
  await queueHas(LINES);
  await eventually(() => withMsg(collector.entries(), 'caught up with a file').length === 1, { message: () => `no "caught up" line:\n${collector.logs.slice(-3000)}` });
  const elapsedS = (Date.now() - started) / 1000;

  const first = collector.entries();
  const behind = withMsg(first, 'catching up with a file');
  const caughtUp = withMsg(first, 'caught up with a file')[0]!;
  // The first line comes when the file is opened: all of it is behind.
  expect(behind[0]).toMatchObject({ source: file, path: file, bytesBehind: size, percentBehind: 100, size });
  expect(behind[0]!.msg).toBe('catching up with a file: 3.3 MiB behind (100 %)');
  // Then progress lines, how far behind in bytes and %, each less behind than the one before ...
  expect(behind.length, JSON.stringify(behind)).toBeGreaterThanOrEqual(3);
  for (const [i, line] of behind.entries()) {
    expect(line).toMatchObject({ source: file, path: file });
    expect(line.msg).toMatch(/^catching up with a file: [\d.]+ (B|KiB|MiB|GiB) behind \(\d+ %\)$/);
    if (i > 0) {
      expect(line.bytesBehind as number).toBeLessThan(behind[i - 1]!.bytesBehind as number);
      expect(line.percentBehind as number).toBeLessThanOrEqual(behind[i - 1]!.percentBehind as number);
    }
  }
  // ... bounded: at most one per 10 % step plus one per 5 s, for 5,000 pushes.
  expect(behind.length).toBeLessThanOrEqual(1 + 10 + Math.ceil(elapsedS / 5));
  // Caught up once: all bytes read and acknowledged, with what the catching up took.
  expect(caughtUp).toMatchObject({ source: file, path: file, size, bytesRead: size });
  expect(caughtUp.seconds as number).toBeGreaterThanOrEqual(0);
  expect(caughtUp.seconds as number).toBeLessThanOrEqual(elapsedS);
  expect(caughtUp.msg).toMatch(/^caught up with a file: read 3\.3 MiB in [\d.]+ s$/);
  expect(first.indexOf(caughtUp)).toBeGreaterThan(first.indexOf(behind.at(-1)!));

  // A few new lines now and then are no state change: nothing is logged for them.
  appendFileSync(file, numberedLines(LINES, 1000));
  await queueHas(LINES + 1000);
  // A large append is: behind again by about its size, then caught up again. The collector is
  // stopped while the append is written: one write of 3.5 MB is not atomic to a reader, and a
  // collector that polls in the middle of it is rightly less behind than the whole append.
  const big = numberedLines(LINES + 1000, LINES);
  await collector.whileStopped(() => appendFileSync(file, big));
  await queueHas(2 * LINES + 1000);
  await eventually(() => withMsg(collector.entries(), 'caught up with a file').length >= 2, { message: () => `no second "caught up" line:\n${collector.logs.slice(-3000)}` });
  const all = collector.entries();
  expect(withMsg(all, 'caught up with a file'), 'the small append logged a state change').toHaveLength(2);
  const again = withMsg(all, 'catching up with a file').slice(behind.length);
  expect(again[0]!.bytesBehind as number).toBeGreaterThan(big.length * 0.8);
  expect(again[0]!.bytesBehind as number).toBeLessThanOrEqual(big.length);
  expect((await collector.terminate()).code).toBe(0);
});

it('process: says when a backlog was drained, with how many envelopes waited and it processed, and how long it took', async () => {
  const t = env.redis;
  const file = env.dir.file('orders.jsonl');
  const lines = orderLines(3050, { seed: 7, firstStart: windowStart(Date.now(), W) - W, windows: 2, windowMs: W });
  writeFileSync(file, `${lines.slice(0, 3000).join('\n')}\n`);
  start('collect', ['--file', file]);
  await queueHas(3000);

  const processorStarted = Date.now();
  const processor = start('process', ['--consumer', 'p1', '--process-batch', '10']);
  await eventually(() => withMsg(processor.entries(), 'backlog drained').length > 0, { timeoutMs: 30_000, message: () => `no "backlog drained" line:\n${processor.logs.slice(-3000)}` });
  const entries = processor.entries();
  const begun = withMsg(entries, 'backlog:');
  const drained = withMsg(entries, 'backlog drained');
  expect(begun).toHaveLength(1);
  expect(begun[0]).toMatchObject({ consumer: 'p1', waiting: 3000, msg: 'backlog: 3000 envelopes waiting' });
  expect(drained).toHaveLength(1);
  expect(drained[0]).toMatchObject({ consumer: 'p1', waiting: 3000, processed: 3000 });
  expect(drained[0]!.seconds as number).toBeGreaterThanOrEqual(0);
  expect(drained[0]!.seconds as number).toBeLessThanOrEqual((Date.now() - processorStarted) / 1000);
  expect(drained[0]!.msg).toBe(`backlog drained: processed 3000 envelopes in ${drained[0]!.seconds as number} s`);
  expect(await t.client.llen(t.keys.queue)).toBe(0);

  // Fewer than ten batches waiting is no backlog: counted without a word.
  appendFileSync(file, `${lines.slice(3000).join('\n')}\n`);
  await eventually(
    async () => {
      const starts = await t.client.zrange(t.keys.windows, '0', '-1');
      let total = 0;
      for (const s of starts) total += Number((await t.client.hget(t.keys.window(Number(s)), 'orders')) ?? 0);
      return total === 3050;
    },
    { timeoutMs: 30_000, message: 'the last 50 orders were not counted' },
  );
  expect(withMsg(processor.entries(), 'backlog')).toHaveLength(2);
  expect((await processor.terminate()).code).toBe(0);
});

/** Valid orders with bad lines among them: `bad` lines of each reason. */
function mixed(valid: number, bad: Record<string, { line: string; count: number }>): string {
  const good = orderLines(valid, { seed: 3, firstStart: windowStart(Date.now(), W) - W, windows: 2, windowMs: W });
  const out = [...good];
  for (const { line, count } of Object.values(bad)) for (let i = 0; i < count; i++) out.splice((i * 7) % out.length, 0, line);
  return `${out.join('\n')}\n`;
}
const INVALID_JSON = '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espre';
const UNKNOWN_VALUE = '{"customerAgeGrade":"1020","paymentMethod":"IOU","orders":["Espresso"]}';

function deadLetterLines(processor: CremaProcess): Map<string, number[]> {
  const byReason = new Map<string, number[]>();
  for (const e of withMsg(processor.entries(), 'dead letters:')) {
    expect(e.msg).toBe(`dead letters: ${e.reason as string} ${e.count as number} in the last ${e.seconds as number} s`);
    expect(e.level).toBe('warn');
    byReason.set(e.reason as string, [...(byReason.get(e.reason as string) ?? []), e.count as number]);
  }
  return byReason;
}

it('process: logs dead letters as one line per reason per interval with their count, and what is left when it stops', async () => {
  const t = env.redis;
  const file = env.dir.file('orders.jsonl');
  writeFileSync(file, mixed(100, { invalid_json: { line: INVALID_JSON, count: 37 }, unknown_value: { line: UNKNOWN_VALUE, count: 5 } }));
  start('collect', ['--file', file]);
  const processor = start('process', ['--consumer', 'p1', '--dead-letter-log-seconds', '1']);
  await eventually(async () => (await t.client.zcard(t.keys.deadIndex)) === 42, { timeoutMs: 30_000, message: async () => `dead letters: ${await t.client.zcard(t.keys.deadIndex)} of 42` });
  await eventually(() => deadLetterLines(processor).size === 2, { message: () => `no dead-letter lines:\n${processor.logs.slice(-3000)}` });
  expect(Object.fromEntries(deadLetterLines(processor))).toEqual({ invalid_json: [37], unknown_value: [5] });
  expect(withMsg(processor.entries(), 'dead letters:').every((e) => e.seconds === 1)).toBe(true);

  // The next interval's dead letters are the next line; a reason without any is not logged.
  appendFileSync(file, `${`${INVALID_JSON}\n`.repeat(20)}\n`);
  await eventually(async () => (await t.client.zcard(t.keys.deadIndex)) === 63, { timeoutMs: 30_000, message: async () => `dead letters: ${await t.client.zcard(t.keys.deadIndex)} of 63` });
  await eventually(() => (deadLetterLines(processor).get('empty_line') ?? []).length > 0 && sum(deadLetterLines(processor).get('invalid_json')) === 57, {
    message: () => `no lines for the second burst:\n${processor.logs.slice(-3000)}`,
  });
  const lines = deadLetterLines(processor);
  expect(lines.get('invalid_json')![0]).toBe(37);
  expect(lines.get('invalid_json')!.length, 'one line per dead letter').toBeLessThanOrEqual(3);
  expect(lines.get('unknown_value')).toEqual([5]);
  expect(lines.get('empty_line')).toEqual([1]);
  expect((await processor.terminate()).code).toBe(0);
});

it('process: with the default interval of a minute, the counts so far are logged when it stops, not one line per dead letter', async () => {
  const t = env.redis;
  const file = env.dir.file('orders.jsonl');
  writeFileSync(file, mixed(100, { invalid_json: { line: INVALID_JSON, count: 37 }, unknown_value: { line: UNKNOWN_VALUE, count: 5 } }));
  const started = Date.now();
  start('collect', ['--file', file]);
  const processor = start('process', ['--consumer', 'p1']);
  await eventually(async () => (await t.client.zcard(t.keys.deadIndex)) === 42, { timeoutMs: 30_000, message: async () => `dead letters: ${await t.client.zcard(t.keys.deadIndex)} of 42` });
  expect(Date.now() - started).toBeLessThan(55_000);
  expect(deadLetterLines(processor).size, 'a line before the minute was over').toBe(0);
  expect((await processor.terminate()).code).toBe(0);
  expect(Object.fromEntries(deadLetterLines(processor))).toEqual({ invalid_json: [37], unknown_value: [5] });
  const seconds = withMsg(processor.entries(), 'dead letters:').map((e) => e.seconds as number);
  for (const s of seconds) expect(s).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000));
});

function sum(values: number[] | undefined): number {
  return (values ?? []).reduce((a, b) => a + b, 0);
}
