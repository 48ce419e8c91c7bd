/**
 * `POST /api/alerts`: Alertmanager's webhook into `crema serve`. Firing alerts are relayed on the
 * live stream (and given to every new client), resolved ones removed, bad bodies and missing
 * tokens refused. The end-to-end test sends real Alertmanager notifications here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertsEvent } from '../../web/api-types.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { SseTestClient } from '../support/sse.js';
import { type TestWeb, startTestWeb } from '../support/web.js';

let t: TestRedis;
let web: TestWeb;
const clients: SseTestClient[] = [];
beforeEach(() => {
  t = testRedis();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await web?.close();
  await t.cleanup();
});

/** An Alertmanager (v4) webhook body, as it posts it. */
function notification(alerts: { name: string; status: 'firing' | 'resolved'; severity?: string; fingerprint?: string }[]) {
  return {
    version: '4',
    groupKey: '{}:{alertname="x"}',
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'crema-web',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts: alerts.map((a) => ({
      status: a.status,
      labels: { alertname: a.name, severity: a.severity ?? 'warning' },
      annotations: { summary: `${a.name} summary`, description: `${a.name} <b>description</b>` },
      startsAt: '2026-11-22T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus:9090/graph',
      fingerprint: a.fingerprint ?? a.name,
    })),
  };
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${web.url}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function stream(): SseTestClient {
  const client = new SseTestClient(`${web.url}/api/stream`);
  clients.push(client);
  return client;
}

const lastAlerts = (client: SseTestClient) => {
  const events = client.named('alerts');
  return events.length === 0 ? undefined : (JSON.parse(events.at(-1)!.data) as AlertsEvent).alerts.map((a) => a.name);
};

describe('POST /api/alerts', () => {
  it('relays firing alerts on the stream, most severe first, and drops them when resolved', async () => {
    web = await startTestWeb(t);
    const client = stream();
    await client.waitFor((c) => c.named('hello').length === 1, 'no hello');
    expect(lastAlerts(client)).toBeUndefined();

    expect((await post(notification([{ name: 'CremaOrderRateLow', status: 'firing' }]))).status).toBe(200);
    await client.waitFor((c) => lastAlerts(c)?.length === 1, 'no alerts event');
    expect(lastAlerts(client)).toEqual(['CremaOrderRateLow']);
    const [alert] = (JSON.parse(client.named('alerts').at(-1)!.data) as AlertsEvent).alerts;
    expect(alert).toEqual({
      name: 'CremaOrderRateLow',
      severity: 'warning',
      summary: 'CremaOrderRateLow summary',
      description: 'CremaOrderRateLow <b>description</b>',
      startsAt: '2026-11-22T00:00:00Z',
    });

    await post(notification([{ name: 'CremaPipelineStalled', status: 'firing', severity: 'critical' }]));
    await client.waitFor((c) => lastAlerts(c)?.length === 2, 'second alert not relayed');
    expect(lastAlerts(client)).toEqual(['CremaPipelineStalled', 'CremaOrderRateLow']);

    // Alertmanager re-sends what still fires: nothing changed, nothing relayed.
    const before = client.named('alerts').length;
    await post(notification([{ name: 'CremaOrderRateLow', status: 'firing' }]));
    await post(notification([{ name: 'CremaOrderRateLow', status: 'resolved' }]));
    await client.waitFor((c) => lastAlerts(c)?.length === 1, 'resolved alert still shown');
    expect(client.named('alerts').length).toBe(before + 1);
    expect(lastAlerts(client)).toEqual(['CremaPipelineStalled']);

    const current = (await (await fetch(`${web.url}/api/alerts`)).json()) as AlertsEvent;
    expect(current.alerts.map((a) => a.name)).toEqual(['CremaPipelineStalled']);
    const metrics = await web.metrics.registry.metrics();
    expect(metrics).toContain('coffee_web_alerts_firing{host="test-host"} 1');
    expect(metrics).toContain('coffee_web_alert_notifications_total{result="applied",host="test-host"} 4');
  });

  it('gives a new client the firing alerts right after its hello', async () => {
    web = await startTestWeb(t);
    await post(notification([{ name: 'CremaTargetDown', status: 'firing', severity: 'critical' }]));
    const client = stream();
    await client.waitFor((c) => c.named('alerts').length === 1, 'no alerts for a new client');
    expect(client.events.findIndex((e) => e.event === 'hello')).toBeLessThan(client.events.findIndex((e) => e.event === 'alerts'));
    expect(lastAlerts(client)).toEqual(['CremaTargetDown']);
  });

  it('refuses what is not an Alertmanager notification, and changes nothing', async () => {
    web = await startTestWeb(t);
    const bad = await post({ version: '4', status: 'firing', alerts: [{ status: 'firing' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^not an Alertmanager webhook notification: alerts\.0\.labels/);
    const notJson = await fetch(`${web.url}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await (await fetch(`${web.url}/api/alerts`)).json()) as AlertsEvent).alerts).toEqual([]);
  });

  it('requires the bearer token when CREMA_ALERTS_TOKEN is set', async () => {
    const token = 'a-long-enough-secret-token';
    web = await startTestWeb(t, { alertsToken: token });
    const body = notification([{ name: 'CremaOrderRateLow', status: 'firing' }]);
    expect((await post(body)).status).toBe(401);
    expect((await post(body, { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
    expect((await post(body, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(((await (await fetch(`${web.url}/api/alerts`)).json()) as AlertsEvent).alerts).toHaveLength(1);
  });
});
