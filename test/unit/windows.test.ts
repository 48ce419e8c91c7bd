import { describe, expect, it } from 'vitest';
import { eventTime, ingestionTimeProblem, parseTimestamp, windowStart } from '../../core/windows.js';

describe('window math', () => {
  const W = 10_000;

  it('aligns windows to the epoch', () => {
    expect(windowStart(0, W)).toBe(0);
    expect(windowStart(9_999, W)).toBe(0);
    expect(windowStart(10_000, W)).toBe(10_000);
    expect(windowStart(1_795_304_356_789, W)).toBe(1_795_304_350_000);
    expect(windowStart(-1, W)).toBe(-10_000);
  });

  it('uses orderedAt when it is within bounds, else the ingestion time', () => {
    const limits = { maxFutureMs: 1000, maxPastMs: 60_000 };
    const now = 52_000;
    expect(eventTime(undefined, 50_000, now, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: false });
    expect(eventTime(45_000, 50_000, now, limits)).toEqual({ timeMs: 45_000, rejectedOrderedAt: false });
    expect(eventTime(51_000, 50_000, now, limits)).toEqual({ timeMs: 51_000, rejectedOrderedAt: false });
    expect(eventTime(51_001, 50_000, now, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: true });
    expect(eventTime(-8_000, 50_000, now, limits)).toEqual({ timeMs: -8_000, rejectedOrderedAt: false });
    expect(eventTime(-8_001, 50_000, now, limits)).toEqual({ timeMs: 50_000, rejectedOrderedAt: true });
  });

  it('refuses ingestion times that are not times, ahead of the clock, or past the retention', () => {
    const limits = { maxFutureMs: 1000, maxPastMs: 60_000 };
    const now = 100_000;
    for (const fine of [now, now + 1000, now - 60_000]) expect(ingestionTimeProblem(fine, now, limits), String(fine)).toBeUndefined();
    for (const absurd of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 2 ** 53]) {
      expect(ingestionTimeProblem(absurd, now, limits), String(absurd)).toMatch(/not a time/);
    }
    expect(ingestionTimeProblem(now + 1001, now, limits)).toMatch(/ahead of this processor's clock/);
    expect(ingestionTimeProblem(now - 60_001, now, limits)).toMatch(/older than the retention/);
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
