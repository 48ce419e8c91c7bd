/**
 * One window over every shard: on Redis Cluster each shard counts its own part of a window, and
 * readers (the web, the exporter, the ticker's log) sum the parts. Pure functions, no I/O.
 *
 * A window is final when every shard has closed it. A shard that counted nothing in a window has no
 * hash for it, so its ticker's watermark says instead: every window starting at or before
 * `closedThrough` that the shard had was closed by then, and one it never had holds nothing.
 */
import { type WindowSnapshot, emptyCounts } from './window-snapshot.js';

/** What one shard knows of one window. */
export interface ShardPart {
  /** The shard's counts for the window, if it counted anything in it. */
  readonly snapshot: WindowSnapshot | undefined;
  /** Start of the latest window the shard's ticker has closed (every earlier one too); -Infinity before its first tick. */
  readonly closedThrough: number;
}

/** Whether one shard is done with the window that starts at `start`. */
export function shardClosed(part: ShardPart, start: number): boolean {
  return part.snapshot ? part.snapshot.final : part.closedThrough >= start;
}

/**
 * The window that starts at `start`, summed over its parts, or undefined when no shard counted
 * anything in it. Exact: counts are added, never estimated.
 */
export function mergeWindow(start: number, windowMs: number, parts: readonly ShardPart[]): WindowSnapshot | undefined {
  const counted = parts.filter((p) => p.snapshot !== undefined).map((p) => p.snapshot!);
  if (counted.length === 0) return undefined;
  const total = emptyCounts();
  for (const s of counted) {
    total.orders += s.orders;
    total.drinks += s.drinks;
    total.late += s.late;
    addInto(total.age, s.age);
    addInto(total.payment, s.payment);
    addInto(total.coffee, s.coffee);
  }
  const final = parts.every((p) => shardClosed(p, start));
  return { start, end: start + windowMs, final, ...total };
}

function addInto(total: Record<string, number>, part: Readonly<Record<string, number>>): void {
  for (const [key, value] of Object.entries(part)) total[key] = (total[key] ?? 0) + value;
}
