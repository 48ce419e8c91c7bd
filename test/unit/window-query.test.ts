import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT, MAX_LIMIT, QueryError, parseWindowQuery } from '../../web/window-query.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');

function problem(query: Record<string, unknown>): string {
  try {
    parseWindowQuery(query, NOW);
  } catch (error) {
    if (error instanceof QueryError) return error.message;
    throw error;
  }
  throw new Error('expected a QueryError');
}

describe('the /api/windows query', () => {
  it('defaults to everything up to now, latest first by limit', () => {
    expect(parseWindowQuery({}, NOW)).toEqual({ from: 0, to: NOW, limit: DEFAULT_LIMIT });
  });

  it('reads ISO-8601 with any zone and epoch milliseconds', () => {
    const q = parseWindowQuery({ from: '2026-11-21T12:00:00+01:00', to: String(NOW), limit: '5' }, NOW);
    expect(q).toEqual({ from: NOW - 3_600_000, to: NOW, limit: 5 });
    expect(parseWindowQuery({ from: '2026-11-21T11:00:00.250Z' }, NOW).from).toBe(NOW - 3_600_000 + 250);
  });

  it('names the parameter of every problem', () => {
    expect(problem({ from: '2026-11-21T12:00:00' })).toMatch(/^from: .*zone/);
    expect(problem({ to: 'now' })).toMatch(/^to: /);
    expect(problem({ limit: String(MAX_LIMIT + 1) })).toBe(`limit: must be at most ${MAX_LIMIT}`);
    expect(problem({ limit: '1.5' })).toBe('limit: must be a whole number');
    expect(problem({ from: String(NOW), to: String(NOW - 1) })).toBe('from: must not be after to');
    expect(problem({ from: ['1', '2'] })).toMatch(/^from: must be given once/);
    expect(problem({ step: '10' })).toMatch(/^step: is not a parameter/);
  });
});

describe('impossible dates', () => {
  it.each([
    ['2026-02-30T00:00:00Z', 'February has 28 days in 2026'],
    ['2025-02-29T00:00:00Z', 'not a leap year'],
    ['2026-04-31T00:00:00Z', 'April has 30 days'],
    ['2026-13-01T00:00:00Z', 'no month 13'],
    ['2026-00-10T00:00:00Z', 'no month 0'],
    ['2026-11-00T00:00:00Z', 'no day 0'],
    ['2026-11-21T24:00:00Z', 'no hour 24'],
    ['2026-11-21T23:60:00Z', 'no minute 60'],
    ['2026-11-21T23:59:60Z', 'no second 60'],
    ['2026-11-21T10:00:00+25:00', 'no offset of 25 hours'],
    ['2026-11-21T10:00:00+01:75', 'no offset minute 75'],
  ])('refuses %s (%s) instead of rolling it over', (text) => {
    expect(problem({ from: text })).toMatch(/^from: .*not a real date and time/);
    expect(problem({ to: text })).toMatch(/^to: /);
  });

  it('accepts the last day of every month, leap days of leap years, and compact offsets', () => {
    expect(parseWindowQuery({ from: '2024-02-29T00:00:00Z' }, NOW).from).toBe(Date.UTC(2024, 1, 29));
    expect(parseWindowQuery({ from: '2000-02-29T00:00:00Z' }, NOW).from).toBe(Date.UTC(2000, 1, 29));
    for (const [month, days] of [[1, 31], [4, 30], [12, 31]] as const) {
      const text = `2026-${String(month).padStart(2, '0')}-${days}T23:59:59.999Z`;
      expect(parseWindowQuery({ to: text }, NOW).to).toBe(Date.UTC(2026, month - 1, days, 23, 59, 59, 999));
    }
    expect(parseWindowQuery({ from: '2026-11-21T13:00:00+0100' }, NOW).from).toBe(NOW);
    expect(parseWindowQuery({ from: '2026-11-21T12:00Z' }, NOW).from).toBe(NOW);
  });
});
