/**
 * The query of `GET /api/windows`: validated here, once, into numbers the history reader uses.
 * Every problem names the parameter it is about.
 */
import { z } from 'zod';

/** Most windows one request may ask for. */
export const MAX_LIMIT = 1000;
/** Windows returned when the request does not say. */
export const DEFAULT_LIMIT = 20;

export interface WindowQuery {
  /** Earliest window start included, epoch ms. */
  readonly from: number;
  /** Latest window start included, epoch ms. */
  readonly to: number;
  /** Most windows returned: the latest `limit` of the range. */
  readonly limit: number;
}

/** A query parameter with a problem, for a 400 answer. */
export class QueryError extends Error {
  constructor(
    readonly parameter: string,
    problem: string,
  ) {
    super(`${parameter}: ${problem}`);
    this.name = 'QueryError';
  }
}

// ISO-8601 date-time with a zone (Z or ±hh:mm), or whole epoch milliseconds. A time without a zone
// is refused: the server's zone is not the caller's.
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/;
const EPOCH_MS = /^\d{1,15}$/;
const FORMAT = 'must be ISO-8601 with a zone (2026-11-21T10:00:00Z) or epoch milliseconds';

/**
 * Whether the fields of an ISO-8601 match name a real instant. Date.parse rolls impossible dates
 * over (February 30 becomes March 2), which would silently move the range.
 */
function realDateTime(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second = 0, , , offsetHours = 0, offsetMinutes = 0] = [
    m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10],
  ].map((part) => (part === undefined ? undefined : Number(part)));
  if (month! < 1 || month! > 12 || day! < 1) return false;
  // Day 0 of the next month is the last day of this one.
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return day! <= daysInMonth && hour! <= 23 && minute! <= 59 && second! <= 59 && offsetHours! <= 23 && offsetMinutes! <= 59;
}

const instant = z
  .string()
  .trim()
  .transform((text, ctx) => {
    let ms = Number.NaN;
    if (EPOCH_MS.test(text)) {
      ms = Number(text);
    } else {
      const match = ISO.exec(text);
      if (match && !realDateTime(match)) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a real date and time (no such day, hour, minute or offset)` });
        return z.NEVER;
      }
      if (match) ms = Date.parse(text);
    }
    if (!Number.isFinite(ms) || ms < 0 || ms > 8.64e15) {
      ctx.addIssue({ code: 'custom', message: FORMAT });
      return z.NEVER;
    }
    return ms;
  });

const schema = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    limit: z
      .string()
      .trim()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().min(1, 'must be at least 1').max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`))
      .optional(),
  })
  .strict();

/**
 * Parses Express's `req.query`. Without `to` the range ends now; without `from` it reaches back
 * as far as the data goes, and `limit` (default {@link DEFAULT_LIMIT}) keeps the latest windows.
 * Throws a {@link QueryError}.
 */
export function parseWindowQuery(query: Readonly<Record<string, unknown>>, now: number): WindowQuery {
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') throw new QueryError(name, 'must be given once, as a plain value');
  }
  const result = schema.safeParse(query);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new QueryError(issue.keys[0] ?? '?', 'is not a parameter of this endpoint (from, to, limit)');
    }
    throw new QueryError(String(issue.path[0] ?? '?'), issue.message);
  }
  const { from = 0, to = now, limit = DEFAULT_LIMIT } = result.data;
  if (from > to) throw new QueryError('from', 'must not be after to');
  return { from, to, limit };
}
