/**
 * Alerting end to end, with real binaries: a collector and a processor count what a generator
 * writes at its normal rate; Prometheus scrapes them every second and evaluates the rules (the
 * thresholds of config/thresholds.json, with seconds for minutes); Alertmanager posts to a webhook
 * receiver in the test. The generator stops → the low-order-rate alert reaches the receiver; a new
 * generator starts → the alert resolves.
 */
import { afterEach, expect, it } from 'vitest';
import { THRESHOLDS } from '../../core/thresholds.js';
import { ALERT, alertRuleGroups, perMinute } from '../../prometheus/alert-rules.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import {
  E2E_TIMING,
  type PrometheusServer,
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
} from '../support/prometheus.js';
import { freePort } from '../support/servers.js';

const env = useTestEnvironment();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** The generator's default: 40 orders a second, 2400 a minute, well above the minimum. */
const RATE = 40;

async function value(prometheus: PrometheusServer, promql: string): Promise<number | undefined> {
  const [sample] = await prometheus.query(promql);
  return sample?.value ? Number(sample.value[1]) : undefined;
}

it('sends the low-order-rate alert through Alertmanager when orders stop, and resolves it when they resume', async () => {
  expect(RATE * 60).toBeGreaterThan(THRESHOLDS.ordersPerMinute.low * 2);
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const common = ['--redis-url', t.url, '--prefix', t.prefix];
  const [collectorPort, processorPort] = [await freePort(), await freePort()];

  const receiver = await startWebhookReceiver();
  cleanups.push(() => receiver.close());
  const alertmanager = await startAlertmanager({ webhookUrl: receiver.url });
  cleanups.push(() => alertmanager.dispose());

  const generate = () => new CremaProcess('generate', ['--file', file, '--rate', String(RATE)]);
  let generator = generate();
  const collector = new CremaProcess('collect', [...common, '--file', file, '--metrics-port', String(collectorPort)]);
  const processor = new CremaProcess('process', [...common, '--tick-ms', '200', '--metrics-port', String(processorPort)]);
  cleanups.push(() => generator.terminate(), () => collector.terminate(), () => processor.terminate());

  const prometheus = await startPrometheus({
    targets: { 'crema-collector': [`127.0.0.1:${collectorPort}`], 'crema-processor': [`127.0.0.1:${processorPort}`] },
    rules: alertRuleGroups(E2E_TIMING),
    alertmanagerUrl: alertmanager.url,
  });
  cleanups.push(() => prometheus.dispose());

  // Normal rate: above the minimum for longer than the rule's window and for: duration together.
  const ordersPerMinute = perMinute('orders', E2E_TIMING.window);
  await eventually(async () => ((await value(prometheus, `min_over_time((${ordersPerMinute})[25s:1s])`)) ?? 0) > THRESHOLDS.ordersPerMinute.low, {
    timeoutMs: 90_000,
    intervalMs: 500,
    message: async () => `order rate never above ${THRESHOLDS.ordersPerMinute.low}/min for 25 s: now ${await value(prometheus, ordersPerMinute)}; processor:\n${processor.logs.slice(-2000)}`,
  });
  expect(await value(prometheus, 'min(up)')).toBe(1);
  expect((await prometheus.alerts()).filter((a) => a.labels.alertname === ALERT.orderRateLow)).toEqual([]);

  // The rate drops: no orders at all.
  const droppedAt = Date.now();
  expect((await generator.terminate()).code).toBe(0);
  const firing = await receiver.waitFor(ALERT.orderRateLow, 'firing');
  expect(Date.parse(firing.startsAt)).toBeGreaterThan(droppedAt);
  expect(firing.labels.severity).toBe('warning');
  expect(firing.annotations.summary).toBe(`Fewer than ${THRESHOLDS.ordersPerMinute.low} orders per minute`);
  // Nothing else is wrong with the pipeline.
  const expected = new Set<string>([ALERT.orderRateLow, ALERT.drinkRateLow]);
  const names = receiver.notifications.flatMap((n) => n.alerts).map((a) => a.labels.alertname ?? '');
  expect(names.filter((name) => !expected.has(name))).toEqual([]);

  // The rate recovers.
  generator = generate();
  const resolved = await receiver.waitFor(ALERT.orderRateLow, 'resolved');
  expect(Date.parse(resolved.endsAt)).toBeGreaterThan(Date.parse(firing.startsAt));
  expect(((await value(prometheus, ordersPerMinute)) ?? 0)).toBeGreaterThan(THRESHOLDS.ordersPerMinute.low);
}, 240_000);
