/**
 * What a window becomes in InfluxDB: one point per window and dimension value, all stamped with
 * the window start (ms), so writing a window again overwrites its points instead of adding any.
 * Tag values come from the catalog only, so every series is known in advance (low cardinality).
 *
 * | measurement         | tags        | fields                                   |
 * | ------------------- | ----------- | ---------------------------------------- |
 * | `windows`           | –           | `orders`, `drinks`, `late` (int), `final` (bool) |
 * | `drinks_by_coffee`  | `coffee`    | `drinks` (int)                           |
 * | `orders_by_payment` | `payment`   | `orders` (int)                           |
 * | `orders_by_age`     | `age_grade` | `orders` (int)                           |
 */
import { Point } from '@influxdata/influxdb-client';
import type { Catalog } from '../core/catalog.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';

/** Measurement and tag names, shared with the dashboards' queries. */
export const MEASUREMENT = {
  windows: { name: 'windows', fields: ['orders', 'drinks', 'late', 'final'] },
  coffee: { name: 'drinks_by_coffee', tag: 'coffee', field: 'drinks' },
  payment: { name: 'orders_by_payment', tag: 'payment', field: 'orders' },
  age: { name: 'orders_by_age', tag: 'age_grade', field: 'orders' },
} as const;

/** Points per window: one `windows` point plus one per catalog value. */
export function pointsPerWindow(catalog: Catalog): number {
  return 1 + catalog.coffeeTypes.length + catalog.paymentMethods.length + catalog.ageGrades.length;
}

/**
 * The line protocol of one window snapshot. Every catalog value gets a point, 0 when absent, so
 * panels show zeros rather than gaps; a value outside the catalog (a changed catalog file) is
 * still written, as counted.
 */
export function windowLines(snapshot: WindowSnapshot, catalog: Catalog): string[] {
  const lines = [
    new Point(MEASUREMENT.windows.name)
      .intField('orders', snapshot.orders)
      .intField('drinks', snapshot.drinks)
      .intField('late', snapshot.late)
      .booleanField('final', snapshot.final)
      .timestamp(snapshot.start)
      .toLineProtocol()!,
  ];
  const dimension = (m: { name: string; tag: string; field: string }, known: readonly string[], counts: Readonly<Record<string, number>>) => {
    const values = new Set([...known, ...Object.keys(counts)]);
    for (const value of values) {
      lines.push(new Point(m.name).tag(m.tag, value).intField(m.field, counts[value] ?? 0).timestamp(snapshot.start).toLineProtocol()!);
    }
  };
  dimension(MEASUREMENT.coffee, catalog.coffeeTypes, snapshot.coffee);
  dimension(MEASUREMENT.payment, catalog.paymentMethods, snapshot.payment);
  dimension(MEASUREMENT.age, catalog.ageGrades, snapshot.age);
  return lines;
}
