/**
 * Alert thresholds, read from `config/thresholds.json`, and the rates they bound: one module feeds
 * the dashboards' threshold lines and the alerting rules, so what is drawn is what alerts.
 */
import raw from '../config/thresholds.json' with { type: 'json' };

/** Bounds of a healthy rate: below `low` or above `high` is worth a look. */
export interface RateThreshold {
  readonly low: number;
  readonly high: number;
}

export interface Thresholds {
  /** Orders per minute, all shops together. */
  readonly ordersPerMinute: RateThreshold;
  /** Drinks per minute, all shops together. */
  readonly drinksPerMinute: RateThreshold;
}

function checked(name: string, value: RateThreshold): RateThreshold {
  if (!(value.low >= 0 && value.high > value.low)) {
    throw new Error(`config/thresholds.json: ${name} needs 0 <= low < high; got ${JSON.stringify(value)}`);
  }
  return Object.freeze({ low: value.low, high: value.high });
}

export const THRESHOLDS: Thresholds = Object.freeze({
  ordersPerMinute: checked('ordersPerMinute', raw.ordersPerMinute),
  drinksPerMinute: checked('drinksPerMinute', raw.drinksPerMinute),
});

/** PromQL: orders (or drinks) committed per minute, all processors together; what the rate thresholds bound. */
export function perMinute(what: 'orders' | 'drinks', window: string): string {
  const series = what === 'orders' ? 'coffee_processor_orders_total{result="counted"}' : 'coffee_processor_drinks_total';
  return `sum(rate(${series}[${window}])) * 60`;
}
