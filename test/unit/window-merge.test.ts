import { describe, expect, it } from 'vitest';
import { mergeWindow, shardClosed } from '../../core/window-merge.js';
import type { WindowSnapshot } from '../../core/window-snapshot.js';

const W = 10_000;
const T = 1_795_304_350_000;

function part(orders: number, final: boolean, extra: Partial<WindowSnapshot> = {}): WindowSnapshot {
  return {
    start: T, end: T + W, final, orders, drinks: 2 * orders, late: 0,
    age: { '1020': orders }, payment: { Cash: orders }, coffee: { Espresso: 2 * orders },
    ...extra,
  };
}

describe('mergeWindow', () => {
  it('sums every count of every shard, dimension by dimension', () => {
    const merged = mergeWindow(T, W, [
      { snapshot: part(3, true, { late: 1, payment: { Cash: 1, Debit: 2 } }), closedThrough: T },
      { snapshot: undefined, closedThrough: T },
      { snapshot: part(5, true, { age: { '1020': 2, '2030': 3 }, coffee: { Espresso: 4, 'Flat White': 6 } }), closedThrough: T },
    ]);
    expect(merged).toEqual({
      start: T, end: T + W, final: true, orders: 8, drinks: 16, late: 1,
      age: { '1020': 5, '2030': 3 }, payment: { Cash: 6, Debit: 2 }, coffee: { Espresso: 10, 'Flat White': 6 },
    });
  });

  it('is final only when every shard has closed the window, counted in it or not', () => {
    const closed = { snapshot: part(1, true), closedThrough: T };
    expect(mergeWindow(T, W, [closed, { snapshot: part(1, false), closedThrough: T - W }])?.final).toBe(false);
    // A shard with nothing in the window: its ticker's watermark decides.
    expect(mergeWindow(T, W, [closed, { snapshot: undefined, closedThrough: T - W }])?.final).toBe(false);
    expect(mergeWindow(T, W, [closed, { snapshot: undefined, closedThrough: T }])?.final).toBe(true);
    expect(mergeWindow(T, W, [closed, { snapshot: undefined, closedThrough: Number.NEGATIVE_INFINITY }])?.final).toBe(false);
    // A window created after the shard's close by a late order is open until its next tick.
    expect(shardClosed({ snapshot: part(1, false), closedThrough: T + W }, T)).toBe(false);
  });

  it('has no window where no shard counted anything', () => {
    expect(mergeWindow(T, W, [{ snapshot: undefined, closedThrough: T }, { snapshot: undefined, closedThrough: T }])).toBeUndefined();
  });
});
