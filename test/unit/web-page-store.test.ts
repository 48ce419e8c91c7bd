import { describe, expect, it } from 'vitest';
import type { WindowSnapshot } from '../../core/window-snapshot.js';
import { WindowStore, categories, countLabel, isNewer, slotIsOpen, windowSlots } from '../../web/page/window-store.js';

const w = (start: number, orders: number, extra: Partial<WindowSnapshot> = {}): WindowSnapshot => ({
  start,
  end: start + 10,
  final: false,
  orders,
  drinks: orders,
  late: 0,
  age: { '2030': orders, '1020': 0 },
  payment: {},
  coffee: {},
  ...extra,
});

describe('the page’s window store', () => {
  it('keeps the later state of a window whatever order states arrive in', () => {
    const store = new WindowStore(10);
    expect(store.put(w(0, 5))).toBe(true);
    expect(store.put(w(0, 3))).toBe(false);
    expect(store.put(w(0, 5, { final: true }))).toBe(true);
    expect(store.put(w(0, 5))).toBe(false);
    expect(store.put(w(0, 5, { final: true, late: 1 }))).toBe(true);
    expect(store.list()).toEqual([w(0, 5, { final: true, late: 1 })]);
    expect(isNewer(w(0, 6), w(0, 5, { final: true }))).toBe(true);
  });

  it('keeps only the newest windows', () => {
    const store = new WindowStore(3);
    for (const start of [50, 10, 40, 20, 30]) store.put(w(start, 1));
    expect(store.list().map((x) => x.start)).toEqual([30, 40, 50]);
    expect(store.latest()?.start).toBe(50);
  });

  it('lays out slots up to the current window, so gaps stay visible', () => {
    expect(windowSlots(undefined, 1005, 10, 3)).toEqual([980, 990, 1000]);
    expect(windowSlots(970, 1005, 10, 3)).toEqual([980, 990, 1000]);
    expect(windowSlots(1020, 1005, 10, 2)).toEqual([1010, 1020]);
  });

  it('lists the categories of a dimension in a stable order', () => {
    expect(categories([w(0, 1), w(10, 1, { age: { '0010': 1 } })], 'age')).toEqual(['0010', '1020', '2030']);
  });
});

describe('open windows on the page', () => {
  it('counts a window as open until it is final, and an empty slot as open while it has not ended', () => {
    const now = 1_000_000;
    expect(slotIsOpen({ start: 990_000, window: w(990_000, 3) }, now, 10_000)).toBe(true);
    expect(slotIsOpen({ start: 990_000, window: w(990_000, 3, { final: true }) }, now, 10_000)).toBe(false);
    expect(slotIsOpen({ start: 1_000_000, window: undefined }, now, 10_000)).toBe(true);
    expect(slotIsOpen({ start: 980_000, window: undefined }, now, 10_000)).toBe(false);
  });

  it('names what a chart counts, and per how long a window', () => {
    expect(countLabel('age', 10_000)).toBe('orders per 10 s window');
    expect(countLabel('payment', 2000)).toBe('orders per 2 s window');
    expect(countLabel('coffee', 60_000)).toBe('drinks per 1 min window');
    expect(countLabel('orders', 90_000)).toBe('orders per 90 s window');
    expect(countLabel('orders', 300_000)).toBe('orders per 5 min window');
  });
});
