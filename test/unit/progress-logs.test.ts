/** The logs of progress and state, alone: what each says, and that each says it once per change of state. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CATCH_UP_MIN_BYTES, CatchUpLog, formatBytes } from '../../collector/catch-up-log.js';
import type { Logger } from '../../core/log.js';
import { RateLog } from '../../core/rate-log.js';
import { BacklogLog } from '../../processor/backlog-log.js';

type Line = { level: string; msg: string } & Record<string, unknown>;

function recorder(): { log: Logger; lines: Line[]; take(): Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ ...fields, level, msg });
  const log = { info: at('info'), warn: at('warn') } as unknown as Logger;
  return { log, lines, take: () => lines.splice(0) };
}

const MiB = 1024 * 1024;

describe('rate log', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reports each key once per interval with its count, nothing for a quiet interval, and the rest when closed', () => {
    const reports: [string, number, number][] = [];
    const rates = new RateLog<string>({ intervalMs: 60_000, report: (key, count, seconds) => reports.push([key, count, seconds]) });
    rates.add('invalid_json', 3);
    rates.add('unknown_value');
    rates.add('invalid_json', 34);
    rates.add('empty_line', 0);
    expect(reports).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(reports.splice(0)).toEqual([
      ['invalid_json', 37, 60],
      ['unknown_value', 1, 60],
    ]);
    vi.advanceTimersByTime(60_000);
    expect(reports).toEqual([]);
    rates.add('invalid_json', 2);
    vi.advanceTimersByTime(12_300);
    rates.close();
    expect(reports.splice(0)).toEqual([['invalid_json', 2, 12]]);
    rates.add('invalid_json');
    vi.advanceTimersByTime(120_000);
    expect(reports).toEqual([]);
  });
});

describe('catch-up log', () => {
  let now = 0;
  const clock = () => now;
  const file = (offset: number, caughtUp = false) => ({ key: 'k1', path: '/data/orders.jsonl.1', source: '/data/orders.jsonl', committed: { offset }, caughtUp });

  it('says once that it is behind, a bounded number of times how far, and once that it has caught up', () => {
    const { log, take } = recorder();
    const catchUp = new CatchUpLog(log, clock);
    const size = 10 * MiB;
    catchUp.opened(file(0), 0, size);
    expect(take()).toEqual([
      { level: 'info', msg: 'catching up with a file: 10.0 MiB behind (100 %)', source: '/data/orders.jsonl', path: '/data/orders.jsonl.1', file: 'k1', bytesBehind: size, percentBehind: 100, size },
    ]);
    // Every read step of 1 % is observed; a line comes for each tenth of the backlog.
    for (let done = 1; done < 100; done++) {
      now += 10;
      catchUp.observe(file((size * done) / 100), size);
    }
    const steps = take();
    expect(steps.map((l) => l.percentBehind)).toEqual([90, 80, 70, 60, 50, 40, 30, 20, 10]);
    expect(steps[0]!.msg).toBe('catching up with a file: 9.0 MiB behind (90 %)');
    // After 5 s without a line: one if it moved, none if it did not.
    now += 4000;
    catchUp.observe(file(size - 100_000), size);
    expect(take()).toEqual([]);
    now += 1000;
    catchUp.observe(file(size - 50_000), size);
    expect(take().map((l) => l.bytesBehind)).toEqual([50_000]);
    now += 5000;
    catchUp.observe(file(size - 50_000), size);
    expect(take()).toEqual([]);

    now += 10;
    catchUp.observe(file(size, true), size);
    expect(take()).toEqual([
      { level: 'info', msg: 'caught up with a file: read 10.0 MiB in 11 s', source: '/data/orders.jsonl', path: '/data/orders.jsonl.1', file: 'k1', size, bytesRead: size, seconds: 11 },
    ]);
    catchUp.observe(file(size, true), size);
    // Following a growing file is no change of state: a little behind, then caught up again.
    catchUp.observe(file(size), size + 64 * 1024);
    catchUp.observe(file(size + 64 * 1024, true), size + 64 * 1024);
    expect(take()).toEqual([]);
    // A backlog again is.
    catchUp.observe(file(size + 64 * 1024), size + 64 * 1024 + CATCH_UP_MIN_BYTES);
    expect(take().map((l) => l.msg)).toEqual(['catching up with a file: 1.0 MiB behind (9 %)']);
  });

  it('says once that a small file was read to its end, and forgets closed files', () => {
    const { log, take } = recorder();
    const catchUp = new CatchUpLog(log, clock);
    catchUp.opened(file(0), 0, 0);
    catchUp.observe(file(0), 0);
    expect(take()).toEqual([]);
    catchUp.observe(file(0, true), 0);
    catchUp.observe(file(0, true), 0);
    expect(take().map((l) => l.msg)).toEqual(['caught up with a file']);
    catchUp.closed('k1');
    catchUp.opened(file(0), 0, 2000);
    catchUp.observe(file(2000, true), 2000);
    expect(take().map((l) => l.msg)).toEqual([`caught up with a file: read ${formatBytes(2000)} in 0 s`]);
  });

  it('writes sizes for people', () => {
    expect([0, 1023, 1024, 1536, 10 * MiB, 3 * 1024 * MiB].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10.0 MiB', '3.0 GiB']);
  });
});

describe('backlog log', () => {
  let now = 0;
  let length = 0;
  let probes = 0;
  function backlogLog(log: Logger): BacklogLog {
    return new BacklogLog({ log, consumer: 'p1', batchSize: 10, now: () => now, queueLength: async () => (probes++, length) });
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('says when ten batches or more wait, and when they have been processed, with the counts and the time', async () => {
    const { log, take } = recorder();
    const backlog = backlogLog(log);
    backlog.claimed(5);
    backlog.committed(5);
    expect(probes).toBe(0);
    length = 500;
    backlog.claimed(10);
    await settle();
    expect(take()).toEqual([{ level: 'info', msg: 'backlog: 510 envelopes waiting', consumer: 'p1', waiting: 510 }]);
    backlog.committed(10);
    for (let i = 0; i < 50; i++) {
      now += 20;
      backlog.claimed(10);
      backlog.committed(10);
    }
    backlog.claimed(3);
    expect(take()).toEqual([]);
    now += 20;
    backlog.committed(3);
    expect(take()).toEqual([{ level: 'info', msg: 'backlog drained: processed 513 envelopes in 1 s', consumer: 'p1', waiting: 510, processed: 513, seconds: 1 }]);
    expect(probes).toBe(1);
  });

  it('is quiet about fewer than ten batches waiting, looks at the queue at most once a second, and ends on an empty claim', async () => {
    const { log, take } = recorder();
    const backlog = backlogLog(log);
    probes = 0;
    length = 50;
    backlog.claimed(10);
    await settle();
    backlog.claimed(10);
    await settle();
    expect(probes).toBe(1);
    expect(take()).toEqual([]);
    now += 1000;
    length = 5000;
    backlog.claimed(10);
    await settle();
    expect(take().map((l) => l.msg)).toEqual(['backlog: 5010 envelopes waiting']);
    now += 2500;
    backlog.committed(10);
    backlog.claimed(0);
    expect(take().map((l) => l.msg)).toEqual(['backlog drained: processed 10 envelopes in 2.5 s']);
  });
});
