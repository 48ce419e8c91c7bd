/** The windows the page knows, merged from the history and the live stream. No DOM here. */
import type { WindowSnapshot } from '../api-types.js';

/** A dimension the bars can be stacked by. */
export type Dimension = 'age' | 'payment' | 'coffee';

/** A window slot of a chart: the window's counts when it has any. */
export interface Slot {
  readonly start: number;
  readonly window: WindowSnapshot | undefined;
}

/**
 * Whether a slot's counts may still grow: its window is not final yet, or it has no window and has
 * not ended (the current one). An empty slot that has ended counts as closed with no orders.
 */
export function slotIsOpen(slot: Slot, now: number, windowMs: number): boolean {
  return slot.window ? !slot.window.final : slot.start + windowMs > now;
}

/**
 * What a chart's values are, for its axis: orders (bars by age grade or payment, and the line) or
 * drinks (bars by coffee type), counted per window of `windowMs`.
 */
export function countLabel(what: Dimension | 'orders', windowMs: number): string {
  const unit = what === 'coffee' ? 'drinks' : 'orders';
  const length = windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`;
  return `${unit} per ${length} window`;
}

/**
 * Whether `a` is a later state of the same window than `b`. Counts only grow, and a window only
 * becomes final, so the larger state is the newer one whatever order the two arrived in
 * (a history read and a live event can cross).
 */
export function isNewer(a: WindowSnapshot, b: WindowSnapshot): boolean {
  if (a.orders !== b.orders) return a.orders > b.orders;
  if (a.late !== b.late) return a.late > b.late;
  return a.final && !b.final;
}

export class WindowStore {
  private readonly windows = new Map<number, WindowSnapshot>();

  /** @param capacity windows kept: the newest ones */
  constructor(private readonly capacity: number) {}

  /** Takes a window unless a newer state of it is known; returns whether anything changed. */
  put(window: WindowSnapshot): boolean {
    const known = this.windows.get(window.start);
    if (known && !isNewer(window, known)) return false;
    this.windows.set(window.start, window);
    if (this.windows.size > this.capacity) {
      const oldest = [...this.windows.keys()].sort((a, b) => a - b).slice(0, this.windows.size - this.capacity);
      for (const start of oldest) this.windows.delete(start);
    }
    return true;
  }

  /** Known windows, oldest first. */
  list(): WindowSnapshot[] {
    return [...this.windows.values()].sort((a, b) => a.start - b.start);
  }

  /** The newest known window. */
  latest(): WindowSnapshot | undefined {
    let latest: WindowSnapshot | undefined;
    for (const w of this.windows.values()) if (!latest || w.start > latest.start) latest = w;
    return latest;
  }
}

/**
 * The `count` window starts ending with the later of the newest window and the window of `now`,
 * so gaps without orders show as empty slots.
 */
export function windowSlots(latestStart: number | undefined, now: number, windowMs: number, count: number): number[] {
  const current = Math.floor(now / windowMs) * windowMs;
  const last = Math.max(latestStart ?? current, current);
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * windowMs);
}

/** The categories of a dimension seen in `windows`, in a stable order. */
export function categories(windows: readonly WindowSnapshot[], dimension: Dimension): string[] {
  const seen = new Set<string>();
  for (const w of windows) for (const key of Object.keys(w[dimension])) seen.add(key);
  return [...seen].sort((a, b) => a.localeCompare(b));
}
