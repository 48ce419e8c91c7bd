import { describe, expect, it } from 'vitest';
import { eventTime, lastClosableStart, parseTimestamp, windowClosesAt, windowEnd, windowStart } from '../../core/windows.js';

describe('window math', () => {
  const W = 10_000;

  it('aligns windows to the epoch', () => {
    expect(windowStart(0, W)).toBe(0);
    expect(windowStart(9_999, W)).toBe(0);
    expect(windowStart(10_000, W)).toBe(10_000);
    expect(windowStart(1_795_304_356_789, W)).toBe(1_795_304_350_000);
    expect(windowStart(-1, W)).toBe(-10_000);
  });

  it('has an exclusive end and closes after the grace period', () => {
    expect(windowEnd(20_000, W)).toBe(30_000);
    expect(windowClosesAt(20_000, W, 5_000)).toBe(35_000);
    expect(lastClosableStart(35_000, W, 5_000)).toBe(20_000);
  });

  it('uses orderedAt when it is within bounds, else the ingestion time', () => {
    const limits = { maxFutureMs: 1000, maxPastMs: 60_000 };
    expect(eventTime(undefined, 50_000, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: false });
    expect(eventTime(45_000, 50_000, limits)).toEqual({ timeMs: 45_000, rejectedOrderedAt: false });
    expect(eventTime(51_000, 50_000, limits)).toEqual({ timeMs: 51_000, rejectedOrderedAt: false });
    expect(eventTime(51_001, 50_000, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: true });
    expect(eventTime(-10_001, 50_000, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: true });
  });
});

describe('parseTimestamp', () => {
  it('accepts ISO-8601 with an offset and epoch milliseconds', () => {
    expect(parseTimestamp('2026-11-21T10:00:00Z')).toBe(Date.UTC(2026, 10, 21, 10));
    expect(parseTimestamp('2026-11-21T10:00:00.250Z')).toBe(Date.UTC(2026, 10, 21, 10, 0, 0, 250));
    expect(parseTimestamp('2026-11-21T11:00:00+01:00')).toBe(Date.UTC(2026, 10, 21, 10));
    expect(parseTimestamp('2026-11-21T10:00:00.123456789Z')).toBe(Date.UTC(2026, 10, 21, 10, 0, 0, 123));
    expect(parseTimestamp('2026-11-21T10:00Z')).toBe(Date.UTC(2026, 10, 21, 10));
    expect(parseTimestamp(1_795_304_356_789)).toBe(1_795_304_356_789);
  });

  it('rejects times without an offset, impossible dates and other types', () => {
    for (const value of ['2026-11-21T10:00:00', '2026-11-21', 'yesterday', '2026-13-40T10:00:00Z', '', 1.5, -5, 0, null, true, {}]) {
      expect(parseTimestamp(value), JSON.stringify(value)).toBeUndefined();
    }
  });
});
