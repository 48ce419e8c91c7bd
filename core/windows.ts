/**
 * Window math: tumbling, epoch-aligned windows and event-time selection.
 * Pure functions, no I/O. When a window closes is decided in `lua/tick-5.lua`, the one place
 * that rule runs.
 */

/** Start (inclusive, epoch ms) of the window that contains `timeMs`. */
export function windowStart(timeMs: number, windowMs: number): number {
  return Math.floor(timeMs / windowMs) * windowMs;
}

/** Bounds within which a timestamp is believed. */
export interface EventTimeLimits {
  /** How far `orderedAt` may lie in the future of `ingestedAt`, and `ingestedAt` in the future of now (clock skew). */
  readonly maxFutureMs: number;
  /** How far a time may lie in the past of now: a window older than the retention has expired. */
  readonly maxPastMs: number;
}

/**
 * Why an envelope's ingestion time cannot be used, or undefined when it can. The collector
 * stamps it, so anything outside the bounds is a broken or foreign queue element: counting it
 * would make a window that expired long ago, or one that stays open for years.
 */
export function ingestionTimeProblem(ingestedAt: number, nowMs: number, limits: EventTimeLimits): string | undefined {
  if (!Number.isSafeInteger(ingestedAt) || ingestedAt < 0) return `its ingestion time ${ingestedAt} is not a time in epoch milliseconds`;
  if (ingestedAt > nowMs + limits.maxFutureMs) return `its ingestion time ${new Date(ingestedAt).toISOString()} lies more than ${limits.maxFutureMs / 1000} s ahead of this processor's clock`;
  if (ingestedAt < nowMs - limits.maxPastMs) return `its ingestion time ${new Date(ingestedAt).toISOString()} is older than the retention: its window has expired`;
  return undefined;
}

/**
 * Event time of an order: `orderedAt` when present and sane (not too far ahead of its
 * ingestion, not older than the retention), else `ingestedAt`, which must itself have passed
 * {@link ingestionTimeProblem}. Returns the chosen time and whether a present `orderedAt` was
 * rejected.
 */
export function eventTime(
  orderedAt: number | undefined,
  ingestedAt: number,
  nowMs: number,
  limits: EventTimeLimits,
): { timeMs: number; rejectedOrderedAt: boolean } {
  if (orderedAt === undefined) return { timeMs: ingestedAt, rejectedOrderedAt: false };
  if (orderedAt > ingestedAt + limits.maxFutureMs || orderedAt < nowMs - limits.maxPastMs) {
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
