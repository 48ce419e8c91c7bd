/**
 * The alerting rules, built from the one thresholds file (`config/thresholds.json`) that also draws
 * the dashboards' threshold lines. `npm run alerting` writes them to {@link RULES_FILE}; a test fails
 * when the committed file drifts from what this module builds.
 */
import { type RateThreshold, THRESHOLDS, type Thresholds, perMinute } from '../core/thresholds.js';

/** Where the rules go, relative to the repository root (read by prometheus.yml). */
export const RULES_FILE = 'prometheus/rules/crema.rules.yml';

/** How long the rules look back and wait: production values, or seconds for an end-to-end test. */
export interface RuleTiming {
  /** Range of the rate and increase functions. */
  readonly window: string;
  /** How long a rate must stay out of bounds before its alert fires. */
  readonly rateFor: string;
  /** How long the pipeline must look stalled, or the exporter fail, before the alert fires. */
  readonly stalledFor: string;
  /** How long a scrape target must be down. */
  readonly downFor: string;
}

export const PRODUCTION_TIMING: RuleTiming = Object.freeze({ window: '5m', rateFor: '5m', stalledFor: '5m', downFor: '1m' });

/** Share of dead letters among committed envelopes above which they are worth a look. */
export const DEAD_LETTER_RATIO = 0.01;

/** Export lag (seconds) above which InfluxDB and Grafana are considered behind. */
export const EXPORT_LAG_SECONDS = 300;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'warning' | 'critical' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

/** Names of the alerts, for tests and the dashboards. */
export const ALERT = Object.freeze({
  orderRateLow: 'CremaOrderRateLow',
  orderRateHigh: 'CremaOrderRateHigh',
  drinkRateLow: 'CremaDrinkRateLow',
  drinkRateHigh: 'CremaDrinkRateHigh',
  pipelineStalled: 'CremaPipelineStalled',
  deadLettersRising: 'CremaDeadLettersRising',
  exporterFailing: 'CremaExporterFailing',
  exporterLagging: 'CremaExporterLagging',
  targetDown: 'CremaTargetDown',
});

function rateRules(what: 'orders' | 'drinks', threshold: RateThreshold, timing: RuleTiming): AlertRule[] {
  const rate = perMinute(what, timing.window);
  const Name = what === 'orders' ? 'Order' : 'Drink';
  return [
    {
      alert: `Crema${Name}RateLow`,
      expr: `${rate} < ${threshold.low}`,
      for: timing.rateFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: `Fewer than ${threshold.low} ${what} per minute`,
        description: `${Name}s per minute over the last ${timing.window}: {{ $value | humanize }}; the minimum is ${threshold.low} (config/thresholds.json).`,
      },
    },
    {
      alert: `Crema${Name}RateHigh`,
      expr: `${rate} > ${threshold.high}`,
      for: timing.rateFor,
      labels: { severity: 'warning' },
      annotations: {
        summary: `More than ${threshold.high} ${what} per minute`,
        description: `${Name}s per minute over the last ${timing.window}: {{ $value | humanize }}; the maximum is ${threshold.high} (config/thresholds.json).`,
      },
    },
  ];
}

/** Every rule group, with the thresholds of `config/thresholds.json` unless others are given. */
export function alertRuleGroups(timing: RuleTiming = PRODUCTION_TIMING, thresholds: Thresholds = THRESHOLDS): RuleGroup[] {
  const w = timing.window;
  return [
    {
      name: 'crema-order-rate',
      rules: [...rateRules('orders', thresholds.ordersPerMinute, timing), ...rateRules('drinks', thresholds.drinksPerMinute, timing)],
    },
    {
      name: 'crema-pipeline',
      rules: [
        {
          alert: ALERT.pipelineStalled,
          // The queue grew (or the collector had to pause because it was full) and no processor
          // committed anything: work is arriving and nothing takes it. Without any processor series
          // `unless` keeps the left side, so a pipeline with no processor at all alerts too.
          expr: [
            `(`,
            `  sum(delta(coffee_collector_queue_length[${w}])) > 0`,
            `  or sum(increase(coffee_collector_backpressure_pauses_total[${w}])) > 0`,
            `)`,
            `unless sum(increase(coffee_processor_orders_total[${w}])) > 0`,
          ].join('\n'),
          for: timing.stalledFor,
          labels: { severity: 'critical' },
          annotations: {
            summary: 'The queue grows and nothing commits',
            description: `Orders are queued but no processor committed any in the last ${w}: are the processors running and holding their leases?`,
          },
        },
        {
          alert: ALERT.deadLettersRising,
          expr: [
            `sum(rate(coffee_processor_orders_total{result="dead"}[${w}]))`,
            `  / sum(rate(coffee_processor_orders_total{result=~"counted|dead"}[${w}]))`,
            `> ${DEAD_LETTER_RATIO}`,
          ].join('\n'),
          for: timing.rateFor,
          labels: { severity: 'warning' },
          annotations: {
            summary: `More than ${DEAD_LETTER_RATIO * 100} % of the input are dead letters`,
            description: `Share of dead letters over the last ${w}: {{ $value | humanizePercentage }}; see coffee_processor_dead_letters_total by reason and the dead-letter list.`,
          },
        },
        {
          alert: ALERT.exporterFailing,
          // Errors and not one acknowledged write: retries alone are not a failure.
          expr: [
            `sum by (instance) (increase(coffee_errors_total{stage="exporter"}[${w}])) > 0`,
            `unless sum by (instance) (increase(coffee_exporter_points_total[${w}])) > 0`,
          ].join('\n'),
          for: timing.stalledFor,
          labels: { severity: 'critical' },
          annotations: {
            summary: 'The exporter cannot write to InfluxDB',
            description: `{{ $labels.instance }} failed to write and wrote nothing in the last ${w}: Grafana's order dashboards are going stale.`,
          },
        },
        {
          alert: ALERT.exporterLagging,
          expr: `max by (instance) (coffee_exporter_lag_seconds) > ${EXPORT_LAG_SECONDS}`,
          for: timing.stalledFor,
          labels: { severity: 'warning' },
          annotations: {
            summary: `InfluxDB is more than ${EXPORT_LAG_SECONDS / 60} minutes behind`,
            description: '{{ $labels.instance }}: the oldest window change not yet in InfluxDB is {{ $value | humanizeDuration }} old.',
          },
        },
        {
          alert: ALERT.targetDown,
          expr: 'up == 0',
          for: timing.downFor,
          labels: { severity: 'critical' },
          annotations: {
            summary: '{{ $labels.job }} on {{ $labels.instance }} is down',
            description: `Prometheus could not scrape {{ $labels.instance }} (job {{ $labels.job }}) for ${timing.downFor}.`,
          },
        },
      ],
    },
  ];
}
