/**
 * Window math: tumbling, epoch-aligned windows and event-time selection.
 * Pure functions, no I/O.
 */

/** Start (inclusive, epoch ms) of the window that contains `timeMs`. */
export function windowStart(timeMs: number, windowMs: number): number {
  return Math.floor(timeMs / windowMs) * windowMs;
}

/** End (exclusive, epoch ms) of the window that starts at `startMs`. */
export function windowEnd(startMs: number, windowMs: number): number {
  return startMs + windowMs;
}

/** The moment a window is closed and marked final: its end plus the grace period. */
export function windowClosesAt(startMs: number, windowMs: number, graceMs: number): number {
  return startMs + windowMs + graceMs;
}

/** Latest window start that is due to close at `nowMs`. */
export function lastClosableStart(nowMs: number, windowMs: number, graceMs: number): number {
  return nowMs - windowMs - graceMs;
}

/** Bounds within which an order's own timestamp is believed. */
export interface EventTimeLimits {
  /** How far `orderedAt` may lie in the future of `ingestedAt`. */
  readonly maxFutureMs: number;
  /** How far `orderedAt` may lie in the past of `ingestedAt`. */
  readonly maxPastMs: number;
}

/**
 * Event time of an order: `orderedAt` when present and sane, else `ingestedAt`.
 * Returns the chosen time and whether a present `orderedAt` was rejected as insane.
 */
export function eventTime(
  orderedAt: number | undefined,
  ingestedAt: number,
  limits: EventTimeLimits,
): { timeMs: number; rejectedOrderedAt: boolean } {
  if (orderedAt === undefined) return { timeMs: ingestedAt, rejectedOrderedAt: false };
  if (orderedAt > ingestedAt + limits.maxFutureMs || orderedAt < ingestedAt - limits.maxPastMs) {
    return { timeMs: ingestedAt, rejectedOrderedAt: true };
  }
  return { timeMs: orderedAt, rejectedOrderedAt: false };
}

const ISO_WITH_OFFSET = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an `orderedAt` value: ISO-8601 with an explicit offset (`Z` or `±hh:mm`), or epoch
 * milliseconds. Returns undefined for anything else: a time without an offset is ambiguous.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = ISO_WITH_OFFSET.exec(value);
  if (!match) return undefined;
  // Date.parse accepts milliseconds only; finer fractions are truncated, not rejected.
  const fraction = match[2] ? match[2].slice(0, 4) : '';
  const ms = Date.parse(`${match[1]}${fraction}${match[3]}`);
  return Number.isNaN(ms) ? undefined : ms;
}
