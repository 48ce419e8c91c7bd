/**
 * What a window becomes in InfluxDB (schema in core/influx-schema.ts): one point per window and
 * dimension value, all stamped with the window start (ms), so writing a window again overwrites
 * its points instead of adding any. Tag values come from the catalog only, so every series is
 * known in advance (low cardinality).
 */
import { Point } from '@influxdata/influxdb-client';
import type { Catalog } from '../core/catalog.js';
import { type DimensionMeasurement, MEASUREMENT } from '../core/influx-schema.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';

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
  const dimension = (m: DimensionMeasurement, known: readonly string[], counts: Readonly<Record<string, number>>) => {
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
