/**
 * The InfluxDB schema: what the exporter writes and the dashboards query. Every point of a window
 * carries the window start as its timestamp (ms). Tag values come from the catalog only.
 *
 * | measurement         | tags        | fields                                           |
 * | ------------------- | ----------- | ------------------------------------------------ |
 * | `windows`           | –           | `orders`, `drinks`, `late` (int), `final` (bool) |
 * | `drinks_by_coffee`  | `coffee`    | `drinks` (int)                                   |
 * | `orders_by_payment` | `payment`   | `orders` (int)                                   |
 * | `orders_by_age`     | `age_grade` | `orders` (int)                                   |
 */
export const MEASUREMENT = {
  windows: { name: 'windows', fields: ['orders', 'drinks', 'late', 'final'] },
  coffee: { name: 'drinks_by_coffee', tag: 'coffee', field: 'drinks' },
  payment: { name: 'orders_by_payment', tag: 'payment', field: 'orders' },
  age: { name: 'orders_by_age', tag: 'age_grade', field: 'orders' },
} as const;

/** A measurement with one tag and one count field. */
export interface DimensionMeasurement {
  readonly name: string;
  readonly tag: string;
  readonly field: string;
}
