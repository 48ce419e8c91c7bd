import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { createOrderValidator } from '../../core/order.js';
import { MAX_DRINKS, MIN_DRINKS, OrderFactory } from '../../generator/orders.js';

describe('OrderFactory', () => {
  it('writes the same orders for the same seed, and other orders for another', () => {
    const a = new OrderFactory(DEFAULT_CATALOG, 42);
    const b = new OrderFactory(DEFAULT_CATALOG, 42);
    const c = new OrderFactory(DEFAULT_CATALOG, 43);
    const lines = (f: OrderFactory) => Array.from({ length: 20 }, () => f.line());
    const first = lines(a);
    expect(lines(b)).toEqual(first);
    expect(lines(c)).not.toEqual(first);
  });

  it('writes valid orders with the original distributions', () => {
    const factory = new OrderFactory(DEFAULT_CATALOG, 7);
    const validate = createOrderValidator(DEFAULT_CATALOG);
    const drinks = new Map<number, number>();
    const coffees = new Map<string, number>();
    const payments = new Map<string, number>();
    const grades = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const check = validate(factory.line(Date.UTC(2026, 0, 1)));
      if (!check.ok) throw new Error(check.message);
      const { order } = check;
      expect(order.orderedAt).toBe(Date.UTC(2026, 0, 1));
      drinks.set(order.orders.length, (drinks.get(order.orders.length) ?? 0) + 1);
      for (const c of order.orders) coffees.set(c, (coffees.get(c) ?? 0) + 1);
      payments.set(order.paymentMethod, (payments.get(order.paymentMethod) ?? 0) + 1);
      grades.set(order.customerAgeGrade, (grades.get(order.customerAgeGrade) ?? 0) + 1);
    }
    expect([...drinks.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: MAX_DRINKS - MIN_DRINKS + 1 }, (_, i) => i + MIN_DRINKS));
    expect(coffees.size).toBe(9);
    expect(payments.size).toBe(3);
    expect(grades.size).toBe(10);
    // Uniform draws: every value within 10 % of its expected share.
    for (const count of drinks.values()) expect(Math.abs(count - n / 10)).toBeLessThan(n / 100);
    for (const count of payments.values()) expect(Math.abs(count - n / 3)).toBeLessThan(n / 30);
    for (const count of grades.values()) expect(Math.abs(count - n / 10)).toBeLessThan(n / 100);
  });
});
