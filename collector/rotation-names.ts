/**
 * Which files beside a followed path are rotations of it, and so may hold lines the collector
 * has not read yet. Only the names rotation tools give are taken: a file that merely starts with
 * the followed name (a backup copy, an editor's file, a temporary file) is never read, since its
 * lines are most likely the followed file's lines again.
 *
 * For a followed `orders.jsonl`, a rotation is named
 * - `orders.jsonl.<n>`: numbered (logrotate's default): `orders.jsonl.1`, `orders.jsonl.2`;
 * - `orders.jsonl-<date>` or `orders.jsonl.<date>`, the date as `YYYYMMDD` or `YYYY-MM-DD`,
 *   optionally followed by a time of day, with or without separators, a fraction and a zone
 *   (`orders.jsonl-20261122`, `orders.jsonl-2026112210`, `orders.jsonl.2026-11-22T10:15:00Z`,
 *   `orders.jsonl.20261122T101500`, `orders.jsonl.2026-11-22_10-15-00`), or by `-<epoch seconds>`
 *   (logrotate `dateformat -%Y%m%d-%s`: `orders.jsonl-20261122-1795304356`).
 * Compressed rotations (`.gz`, `.bz2`, `.xz`, `.zst`, `.lz4`, `.zip`, `.Z`) do not match: they are
 * never read.
 */

/** `.<n>`: a numbered rotation. */
const NUMBERED = /^\.\d{1,9}$/;

/**
 * `-<date>` or `.<date>`, then an optional time (hours, minutes, seconds, fraction, zone) or
 * `-<epoch seconds>`. Groups: year, month, day, hour, minute, second.
 */
const DATED =
  /^[.-](\d{4})(?:(\d{2})(\d{2})|-(\d{2})-(\d{2}))(?:[T_.-]?(\d{2})(?:[:.-]?(\d{2})(?:[:.-]?(\d{2})(?:[.,]\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?|-\d{9,10})?$/;

/** Whether `entry`, a name in the followed file's directory, is a rotation of the followed file `name`. */
export function isRotationOf(name: string, entry: string): boolean {
  if (entry.length <= name.length || !entry.startsWith(name)) return false;
  const suffix = entry.slice(name.length);
  if (NUMBERED.test(suffix)) return true;
  const match = DATED.exec(suffix);
  if (!match) return false;
  const [, , compactMonth, compactDay, month = compactMonth, day = compactDay, hour, minute, second] = match;
  return (
    within(month, 1, 12) &&
    within(day, 1, 31) &&
    (hour === undefined || within(hour, 0, 23)) &&
    (minute === undefined || within(minute, 0, 59)) &&
    (second === undefined || within(second, 0, 60))
  );
}

function within(digits: string | undefined, min: number, max: number): boolean {
  const value = Number(digits);
  return value >= min && value <= max;
}
