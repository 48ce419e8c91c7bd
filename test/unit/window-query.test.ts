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
