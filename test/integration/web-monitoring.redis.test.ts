/**
 * The web server's guarded endpoints as the real monitoring tools reach them: Prometheus scrapes
 * `/metrics` with `authorization.credentials_file`, and Alertmanager posts to `/api/alerts` with
 * the webhook config of prometheus/alertmanager.yml (its bearer token from a file), as compose
 * runs them. Debian's `prometheus` and `prometheus-alertmanager` on free loopback ports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AlertsEvent } from '../../web/api-types.js';
import type { YamlValue } from '../../prometheus/yaml.js';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/files.js';
import { startAlertmanager, startPrometheus } from '../support/prometheus.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { type TestWeb, startTestWeb } from '../support/web.js';
import { parseYaml } from '../support/yaml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let t: TestRedis;
let dir: ReturnType<typeof tempDir>;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(() => {
  t = testRedis();
  dir = tempDir();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  await t.cleanup();
  dir.remove();
});

async function web(overrides: Parameters<typeof startTestWeb>[1]): Promise<TestWeb> {
  const started = await startTestWeb(t, overrides);
  cleanups.push(() => started.close());
  return started;
}

function tokenFile(name: string, token: string): string {
  const path = dir.file(name);
  writeFileSync(path, token);
  return path;
}

it('lets Prometheus scrape /metrics with the bearer token from its credentials file, and no one without it', async () => {
  const token = 'metrics-token-for-prometheus';
  const server = await web({ metricsToken: token });
  const target = new URL(server.url).host;
  const prometheus = await startPrometheus({
    targets: { 'with-token': [target], 'wrong-token': [target], 'no-token': [target] },
    authorization: { 'with-token': { credentials_file: tokenFile('right', token) }, 'wrong-token': { credentials_file: tokenFile('wrong', 'not-the-metrics-token') } },
  });
  cleanups.push(() => prometheus.dispose());
  const up = async () => Object.fromEntries((await prometheus.query('up')).map((s) => [s.metric.job, Number(s.value![1])]));
  await eventually(async () => Object.keys(await up()).length === 3, { timeoutMs: 20_000, message: async () => `not every job scraped: ${JSON.stringify(await up())}` });
  expect(await up()).toEqual({ 'with-token': 1, 'wrong-token': 0, 'no-token': 0 });
  const clients = await prometheus.query('coffee_web_stream_clients');
  expect(clients.map((s) => s.metric.job)).toEqual(['with-token']);
});

/** The webhook config of the shipped alertmanager.yml, pointed at this test's server and token file. */
function shippedWebhook(url: string, credentialsFile: string): { [key: string]: YamlValue } {
  const config = parseYaml<{ receivers: { name: string; webhook_configs: { [key: string]: YamlValue }[] }[] }>(readFileSync(`${root}prometheus/alertmanager.yml`, 'utf8'));
  const [webhook] = config.receivers.find((r) => r.name === 'crema-web')!.webhook_configs;
  const text = JSON.stringify(webhook);
  const shippedFile = /"credentials_file":"([^"]+)"/.exec(text)?.[1];
  expect(shippedFile, 'the shipped webhook sends no token from a file').toBeDefined();
  return JSON.parse(text.replace('http://web:8080/api/alerts', url).replace(shippedFile!, credentialsFile)) as { [key: string]: YamlValue };
}

async function fire(alertmanagerUrl: string, alertname: string): Promise<void> {
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels: { alertname, severity: 'warning' }, annotations: { summary: `${alertname} summary` } }]),
  });
  expect(response.status).toBe(200);
}

it('takes alerts from Alertmanager configured like prometheus/alertmanager.yml, and refuses one with the wrong token', async () => {
  const token = 'alerts-token-for-alertmanager';
  const server = await web({ alertsToken: token });
  const right = await startAlertmanager({ webhooks: [shippedWebhook(`${server.url}/api/alerts`, tokenFile('right', token))] });
  cleanups.push(() => right.dispose());
  const wrong = await startAlertmanager({ webhooks: [shippedWebhook(`${server.url}/api/alerts`, tokenFile('wrong', 'not-the-alerts-token'))] });
  cleanups.push(() => wrong.dispose());

  await fire(wrong.url, 'CremaFromWrongToken');
  await fire(right.url, 'CremaFromRightToken');
  const shown = async () => ((await (await fetch(`${server.url}/api/alerts`)).json()) as AlertsEvent).alerts.map((a) => a.name);
  await eventually(async () => (await shown()).includes('CremaFromRightToken'), { timeoutMs: 20_000, message: async () => `the alert never arrived: ${await shown()}` });
  const unauthorized = async () => Number(/coffee_web_alert_notifications_total\{result="unauthorized"[^}]*\} (\d+)/.exec(await server.metrics.registry.metrics())?.[1]);
  await eventually(async () => (await unauthorized()) >= 1, { timeoutMs: 20_000, message: 'the wrong token was never refused' });
  expect(await shown()).toEqual(['CremaFromRightToken']);
});
