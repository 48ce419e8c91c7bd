/**
 * The `promtool test rules` file for {@link alertRuleGroups}: for every alert, input series that
 * make it fire, stay quiet, and resolve. Built from the same thresholds as the rules, so a changed
 * threshold moves the test inputs with it; `npm run alerting` writes it to {@link RULE_TESTS_FILE}.
 */
import { THRESHOLDS, type Thresholds } from '../core/thresholds.js';
import { ALERT, type AlertRule, DEAD_LETTER_RATIO, EXPORT_LAG_SECONDS, PRODUCTION_TIMING, alertRuleGroups } from './alert-rules.js';
import type { YamlValue } from './yaml.js';

export const RULE_TESTS_FILE = 'prometheus/tests/crema.rules.test.yml';

/** A counter's samples, one a minute: `[per-minute increase, minutes]` pieces, in promtool's notation. */
export function counterSeries(pieces: readonly (readonly [perMinute: number, minutes: number])[], start = 0): string {
  let value = start;
  const parts: string[] = [];
  pieces.forEach(([perMinute, minutes], i) => {
    // The first piece starts at t=0 with `start`; each further piece continues one step later.
    const first = i === 0 ? value : value + perMinute;
    const steps = i === 0 ? minutes : minutes - 1;
    parts.push(`${first}+${perMinute}x${steps}`);
    value = first + perMinute * steps;
  });
  return parts.join(' ');
}

interface Labels {
  readonly [name: string]: string;
}

const PROCESSOR: Labels = { job: 'crema-processor', instance: 'processor:9466' };
const COLLECTOR: Labels = { job: 'crema-collector', instance: 'collector:9465' };
const EXPORTER: Labels = { job: 'crema-exporter', instance: 'exporter:9467' };

function series(name: string, labels: Labels, values: string): YamlValue {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return { series: `${name}{${text}}`, values };
}

/** The rule's annotations as Prometheus renders them for an alert with this value and these labels. */
function rendered(rule: AlertRule, value: string, labels: Labels = {}): Record<string, string> {
  const fill = (text: string) =>
    text
      .replace(/\{\{ \$value \| humanize(Percentage|Duration)? \}\}/g, value)
      .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');
  return { summary: fill(rule.annotations.summary), description: fill(rule.annotations.description) };
}

function expectAlert(rule: AlertRule, evalTime: string, value: string, labels: Labels = {}): YamlValue {
  return {
    eval_time: evalTime,
    alertname: rule.alert,
    exp_alerts: [{ exp_labels: { severity: rule.labels.severity, ...labels }, exp_annotations: rendered(rule, value, labels) }],
  };
}

function expectNone(alertname: string, evalTime: string): YamlValue {
  return { eval_time: evalTime, alertname, exp_alerts: [] };
}

/** Prometheus's `humanize` for the whole numbers these tests produce (below 1000, or thousands). */
function humanize(n: number): string {
  if (Math.abs(n) >= 1000) return `${Number((n / 1000).toPrecision(4))}k`;
  return String(Number(n.toPrecision(4)));
}

/** The promtool test file, as data. */
export function ruleTests(thresholds: Thresholds = THRESHOLDS): YamlValue {
  const rules = new Map(alertRuleGroups(PRODUCTION_TIMING, thresholds).flatMap((g) => g.rules.map((r) => [r.alert, r] as const)));
  const rule = (name: string) => rules.get(name)!;
  const orders = thresholds.ordersPerMinute;
  const drinks = thresholds.drinksPerMinute;
  // Rates well inside and well outside the bounds, whole numbers per minute.
  const ordersOk = Math.round((orders.low + orders.high) / 2);
  const drinksOk = Math.round((drinks.low + drinks.high) / 2);
  const ordersLow = Math.floor(orders.low / 2);
  const ordersHigh = orders.high * 2;
  const drinksLow = Math.floor(drinks.low / 2);
  const counted = (pieces: readonly (readonly [number, number])[]) =>
    series('coffee_processor_orders_total', { ...PROCESSOR, result: 'counted' }, counterSeries(pieces));
  const drunk = (pieces: readonly (readonly [number, number])[]) => series('coffee_processor_drinks_total', PROCESSOR, counterSeries(pieces));
  const rateAlerts = [ALERT.orderRateLow, ALERT.orderRateHigh, ALERT.drinkRateLow, ALERT.drinkRateHigh];
  // Dead letters per 1000 counted orders a minute: five times the rule's share, then half of it.
  const deadHigh = Math.ceil(1000 * DEAD_LETTER_RATIO * 5);
  const deadLow = Math.floor(1000 * DEAD_LETTER_RATIO / 2);

  return {
    rule_files: ['../rules/crema.rules.yml'],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'order and drink rates inside their bounds: no rate alert',
        interval: '1m',
        input_series: [counted([[ordersOk, 40]]), drunk([[drinksOk, 40]])],
        alert_rule_test: rateAlerts.flatMap((name) => [expectNone(name, '10m'), expectNone(name, '30m')]),
      },
      {
        name: 'order rate drops below the minimum: pending, then firing, then resolved when it recovers',
        interval: '1m',
        // Normal for 10 minutes, low for 20, normal again.
        input_series: [counted([[ordersOk, 10], [ordersLow, 20], [ordersOk, 30]]), drunk([[drinksOk, 60]])],
        alert_rule_test: [
          expectNone(ALERT.orderRateLow, '12m'),
          // Below the minimum from about 14m, so still pending at 17m.
          expectNone(ALERT.orderRateLow, '17m'),
          expectAlert(rule(ALERT.orderRateLow), '25m', humanize(ordersLow)),
          expectNone(ALERT.orderRateHigh, '25m'),
          expectNone(ALERT.orderRateLow, '40m'),
        ],
      },
      {
        name: 'a short dip shorter than the for: duration does not fire',
        interval: '1m',
        input_series: [counted([[ordersOk, 10], [0, 3], [ordersOk, 30]]), drunk([[drinksOk, 45]])],
        alert_rule_test: [expectNone(ALERT.orderRateLow, '14m'), expectNone(ALERT.orderRateLow, '18m'), expectNone(ALERT.orderRateLow, '25m')],
      },
      {
        name: 'order rate above the maximum fires, and resolves',
        interval: '1m',
        input_series: [counted([[ordersOk, 5], [ordersHigh, 20], [ordersOk, 30]]), drunk([[drinksOk, 55]])],
        alert_rule_test: [
          expectAlert(rule(ALERT.orderRateHigh), '20m', humanize(ordersHigh)),
          expectNone(ALERT.orderRateLow, '20m'),
          expectNone(ALERT.orderRateHigh, '45m'),
        ],
      },
      {
        name: 'drink rate below its minimum fires on its own',
        interval: '1m',
        input_series: [counted([[ordersOk, 30]]), drunk([[drinksLow, 30]])],
        alert_rule_test: [expectAlert(rule(ALERT.drinkRateLow), '20m', humanize(drinksLow)), expectNone(ALERT.orderRateLow, '20m')],
      },
      {
        name: 'the queue grows and nothing commits: stalled, resolved when commits resume',
        interval: '1m',
        input_series: [
          series('coffee_collector_queue_length', COLLECTOR, counterSeries([[500, 30]])),
          series('coffee_collector_backpressure_pauses_total', COLLECTOR, '0+0x30'),
          counted([[ordersOk, 5], [0, 15], [ordersOk, 10]]),
          series('coffee_processor_orders_total', { ...PROCESSOR, result: 'dead' }, '0+0x30'),
        ],
        alert_rule_test: [
          expectNone(ALERT.pipelineStalled, '4m'),
          expectAlert(rule(ALERT.pipelineStalled), '16m', ''),
          expectNone(ALERT.pipelineStalled, '25m'),
        ],
      },
      {
        name: 'a full queue with the collector paused and nothing committed is stalled too',
        interval: '1m',
        input_series: [
          series('coffee_collector_queue_length', COLLECTOR, '1000000+0x30'),
          series('coffee_collector_backpressure_pauses_total', COLLECTOR, '0+1x30'),
          counted([[0, 30]]),
        ],
        alert_rule_test: [expectAlert(rule(ALERT.pipelineStalled), '15m', '')],
      },
      {
        name: 'a growing queue that the processors keep committing from is not stalled',
        interval: '1m',
        input_series: [series('coffee_collector_queue_length', COLLECTOR, counterSeries([[500, 30]])), counted([[ordersOk, 30]])],
        alert_rule_test: [expectNone(ALERT.pipelineStalled, '15m'), expectNone(ALERT.pipelineStalled, '29m')],
      },
      {
        name: 'dead letters above their share fire; a few do not',
        interval: '1m',
        input_series: [
          counted([[1000, 30]]),
          // Well above the share for 20 minutes, then well below.
          series('coffee_processor_orders_total', { ...PROCESSOR, result: 'dead' }, counterSeries([[deadHigh, 20], [deadLow, 10]])),
        ],
        alert_rule_test: [
          expectAlert(rule(ALERT.deadLettersRising), '15m', `${humanize((deadHigh / (1000 + deadHigh)) * 100)}%`),
          expectNone(ALERT.deadLettersRising, '29m'),
        ],
      },
      {
        name: 'exporter errors with no acknowledged write fire; errors between writes do not',
        interval: '1m',
        input_series: [
          series('coffee_errors_total', { ...EXPORTER, stage: 'exporter', type: 'influx_write' }, '0+1x30'),
          // Writing for 10 minutes, then nothing.
          series('coffee_exporter_points_total', EXPORTER, counterSeries([[100, 10], [0, 20]])),
        ],
        alert_rule_test: [
          expectNone(ALERT.exporterFailing, '8m'),
          expectAlert(rule(ALERT.exporterFailing), '25m', '', { instance: EXPORTER.instance! }),
        ],
      },
      {
        name: `export lag over ${EXPORT_LAG_SECONDS} s fires after its for: duration`,
        interval: '1m',
        input_series: [series('coffee_exporter_lag_seconds', EXPORTER, `0+0x5 ${EXPORT_LAG_SECONDS * 2}+0x20`)],
        alert_rule_test: [
          expectNone(ALERT.exporterLagging, '5m'),
          expectAlert(rule(ALERT.exporterLagging), '20m', humanizeDuration(EXPORT_LAG_SECONDS * 2), { instance: EXPORTER.instance! }),
        ],
      },
      {
        name: 'a target down for a minute fires, and resolves when it is back',
        interval: '1m',
        input_series: [series('up', PROCESSOR, '1 1 0 0 0 0 1 1 1')],
        alert_rule_test: [
          expectNone(ALERT.targetDown, '2m'),
          expectAlert(rule(ALERT.targetDown), '4m', '', PROCESSOR),
          expectNone(ALERT.targetDown, '7m'),
        ],
      },
    ],
  };
}

/** Prometheus's `humanizeDuration` for whole minutes. */
function humanizeDuration(seconds: number): string {
  return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}
