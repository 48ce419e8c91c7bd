/**
 * Alerting end to end, with real binaries: a collector and a processor count what a generator
 * writes at its normal rate; Prometheus scrapes them every second and evaluates the rules (the
 * thresholds of config/thresholds.json, with seconds for minutes); Alertmanager posts to a webhook
 * receiver in the test and to `crema serve`, whose page is open in Chromium. The generator stops →
 * the low-order-rate alert reaches the receiver and the page shows it in its banner; a new
 * generator starts → the alert resolves and the banner goes away.
 */
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { THRESHOLDS, perMinute } from '../../core/thresholds.js';
import { ALERT, alertRuleGroups } from '../../prometheus/alert-rules.js';
import { useBrowser } from '../support/browser.js';
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
const chromium = useBrowser();

/** The generator's default: 40 orders a second, 2400 a minute, well above the minimum. */
const RATE = 40;

async function banner(page: Page): Promise<string | undefined> {
  return (await page.isVisible('#alerts')) ? ((await page.textContent('#alerts')) ?? '') : undefined;
}

async function value(prometheus: PrometheusServer, promql: string): Promise<number | undefined> {
  const [sample] = await prometheus.query(promql);
  return sample?.value ? Number(sample.value[1]) : undefined;
}

it('sends the low-order-rate alert through Alertmanager to a webhook and the page banner when orders stop, and resolves it when they resume', async () => {
  expect(RATE * 60).toBeGreaterThan(THRESHOLDS.ordersPerMinute.low * 2);
  const { redis: t, dir } = env;
  const file = dir.file('orders.jsonl');
  const common = ['--redis-url', t.url, '--prefix', t.prefix];
  const [collectorPort, processorPort, webPort] = [await freePort(), await freePort(), await freePort()];

  const web = new CremaProcess('serve', [...common, '--web-port', String(webPort)]);
  env.onCleanup(() => web.terminate());
  const receiver = await startWebhookReceiver();
  env.onCleanup(() => receiver.close());
  const alertmanager = await startAlertmanager({ webhookUrls: [receiver.url, `http://127.0.0.1:${webPort}/api/alerts`] });
  env.onCleanup(() => alertmanager.dispose());
  await web.waitForLog('serving the live page');
  const page = await chromium.browser.newPage();
  env.onCleanup(() => page.close());
  await page.goto(`http://127.0.0.1:${webPort}/`);
  await eventually(async () => (await page.getAttribute('#connection', 'data-state')) === 'live', { message: 'the page never went live' });
  expect(await banner(page)).toBeUndefined();

  const generate = () => new CremaProcess('generate', ['--file', file, '--rate', String(RATE)]);
  let generator = generate();
  const collector = new CremaProcess('collect', [...common, '--file', file, '--metrics-port', String(collectorPort)]);
  const processor = new CremaProcess('process', [...common, '--tick-ms', '200', '--metrics-port', String(processorPort)]);
  env.onCleanup(() => generator.terminate());
  env.onCleanup(() => collector.terminate());
  env.onCleanup(() => processor.terminate());

  const prometheus = await startPrometheus({
    targets: { 'crema-collector': [`127.0.0.1:${collectorPort}`], 'crema-processor': [`127.0.0.1:${processorPort}`] },
    rules: alertRuleGroups(E2E_TIMING),
    alertmanagerUrl: alertmanager.url,
  });
  env.onCleanup(() => prometheus.dispose());

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
  await eventually(async () => (await banner(page))?.includes(firing.annotations.summary!) ?? false, {
    timeoutMs: 15_000,
    message: async () => `the page shows no banner with "${firing.annotations.summary}": ${await banner(page)}; web logs:\n${web.logs.slice(-2000)}`,
  });
  // Nothing else is wrong with the pipeline: only the rate alerts fired.
  const expected = new Set<string>([ALERT.orderRateLow, ALERT.drinkRateLow]);
  const names = receiver.notifications.flatMap((n) => n.alerts).map((a) => a.labels.alertname ?? '');
  expect(names.filter((name) => !expected.has(name))).toEqual([]);

  // The rate recovers.
  generator = generate();
  const resolved = await receiver.waitFor(ALERT.orderRateLow, 'resolved');
  expect(Date.parse(resolved.endsAt)).toBeGreaterThan(Date.parse(firing.startsAt));
  // The rule fires below the threshold: a rate of exactly the threshold has resolved it.
  expect(((await value(prometheus, ordersPerMinute)) ?? 0)).toBeGreaterThanOrEqual(THRESHOLDS.ordersPerMinute.low);
  // The drink-rate alert resolves with it; then no alert is left and the banner goes away.
  await receiver.waitFor(ALERT.drinkRateLow, 'resolved');
  await eventually(async () => (await banner(page)) === undefined, {
    timeoutMs: 15_000,
    message: async () => `the banner still shows: ${await banner(page)}`,
  });
}, 240_000);
