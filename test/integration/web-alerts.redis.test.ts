/**
 * `POST /api/alerts`: Alertmanager's webhook into `crema serve`. Firing alerts are relayed on the
 * live stream (and given to every new client), resolved ones removed, bad bodies and missing
 * tokens refused. The end-to-end test sends real Alertmanager notifications here.
 */
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertsEvent, WindowSnapshot } from '../../web/api-types.js';
import { eventually } from '../support/eventually.js';
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

interface TestAlert {
  name: string;
  status: 'firing' | 'resolved';
  severity?: string;
  fingerprint?: string;
  summary?: string;
  description?: string;
  labels?: Record<string, string>;
}

/** An Alertmanager (v4) webhook body, as it posts it. */
function notification(alerts: TestAlert[]) {
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
      labels: { alertname: a.name, severity: a.severity ?? 'warning', ...a.labels },
      annotations: { summary: a.summary ?? `${a.name} summary`, description: a.description ?? `${a.name} <b>description</b>` },
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

/** A logger whose JSON lines the test can read. */
function capturedLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), lines };
}

async function alertsNow(): Promise<AlertsEvent> {
  return (await (await fetch(`${web.url}/api/alerts`)).json()) as AlertsEvent;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await web.metrics.registry.metrics();
  const match = new RegExp(`^${name}\\{${labels ? `${labels},` : ''}host="test-host"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
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

describe('POST /api/alerts: safe by default', () => {
  const token = 'a-long-enough-secret-token';
  const FIVE_MB = 5 * 1024 * 1024;

  it('checks the token before it reads the body: a 5 MB post with a wrong token is refused at once', async () => {
    web = await startTestWeb(t, { alertsToken: token });
    const big = JSON.stringify({ ...notification([{ name: 'CremaOrderRateLow', status: 'firing' }]), padding: 'x'.repeat(FIVE_MB) });
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`]) {
      const started = performance.now();
      const refused = await post(JSON.parse(big), authorization === undefined ? {} : { authorization });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await refused.json()) as { error: string }).error).toMatch(/CREMA_ALERTS_TOKEN/);
      expect(performance.now() - started).toBeLessThan(2000);
    }
    expect(await metric('coffee_web_alert_notifications_total', 'result="unauthorized"')).toBe(3);
    // With the token, the body limit applies.
    const tooLarge = await fetch(`${web.url}/api/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: big });
    expect(tooLarge.status).toBe(413);
    expect((await alertsNow()).alerts).toEqual([]);
    // The server still answers on the same connections.
    expect((await post(notification([{ name: 'CremaOrderRateLow', status: 'firing' }]), { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('keeps at most 100 firing alerts, the most severe, says how many more fire, counts them, and logs it once', async () => {
    const { log, lines } = capturedLog();
    web = await startTestWeb(t, { log });
    const warnings = notification(Array.from({ length: 150 }, (_, i) => ({ name: `CremaWarning${i}`, status: 'firing' as const, fingerprint: `w${i}` })));
    expect((await post(warnings)).status).toBe(200);
    let now = await alertsNow();
    expect(now.alerts).toHaveLength(100);
    expect(now.omitted).toBe(50);
    // Alertmanager re-sends what fires: nothing changes, nothing grows.
    expect((await post(warnings)).status).toBe(200);
    expect((await alertsNow()).alerts).toHaveLength(100);
    // A critical alert is shown in place of a warning.
    await post(notification([{ name: 'CremaPipelineStalled', status: 'firing', severity: 'critical' }]));
    now = await alertsNow();
    expect(now.alerts).toHaveLength(100);
    expect(now.alerts[0]!.name).toBe('CremaPipelineStalled');
    expect(now.omitted).toBe(51);
    expect(await metric('coffee_web_alerts_capped_total', 'reason="too_many"')).toBe(101);
    expect(await metric('coffee_web_alerts_firing', '')).toBe(100);
    const capped = () => lines.filter((line) => line.includes('more alerts fire than the page shows'));
    expect(capped()).toHaveLength(1);
    expect(JSON.parse(capped()[0]!)).toMatchObject({ level: 40, shown: 100 });

    // All resolve: the board empties, and a later flood is logged again (once).
    await post(notification([...Array.from({ length: 150 }, (_, i) => ({ name: `CremaWarning${i}`, status: 'resolved' as const, fingerprint: `w${i}` })), { name: 'CremaPipelineStalled', status: 'resolved' }]));
    expect(await alertsNow()).toEqual({ alerts: [], omitted: 0 });
    await post(warnings);
    await post(warnings);
    expect(capped()).toHaveLength(2);
  });

  it('cuts long labels and annotations, ignores the labels it does not show, and counts the cuts', async () => {
    const { log, lines } = capturedLog();
    web = await startTestWeb(t, { log });
    const body = notification([
      { name: `CremaLong${'N'.repeat(5000)}`, fingerprint: 'long', status: 'firing', summary: 'S'.repeat(5000), description: 'D'.repeat(50_000), severity: 'w'.repeat(500), labels: { instance: 'i'.repeat(100_000) } },
    ]);
    expect((await post(body)).status).toBe(200);
    const [alert] = (await alertsNow()).alerts;
    expect(alert!.name).toMatch(/^CremaLongN+…$/);
    expect(alert!.name.length).toBe(100);
    expect(alert!.severity.length).toBe(32);
    expect(alert!.summary).toBe(`${'S'.repeat(199)}…`);
    expect(alert!.description).toBe(`${'D'.repeat(499)}…`);
    expect(await metric('coffee_web_alerts_capped_total', 'reason="truncated"')).toBe(1);
    await post(body);
    expect(await metric('coffee_web_alerts_capped_total', 'reason="truncated"')).toBe(2);
    expect(lines.filter((line) => line.includes('alert texts cut'))).toHaveLength(1);
  });

  it('logs short lines about alerts, never their annotations', async () => {
    const { log, lines } = capturedLog();
    web = await startTestWeb(t, { log });
    const alerts = Array.from({ length: 40 }, (_, i) => ({
      name: `CremaAlert${i}-${'n'.repeat(4000)}`,
      status: 'firing' as const,
      fingerprint: `f${i}`,
      summary: `SECRET-SUMMARY ${'s'.repeat(4000)}`,
      description: `SECRET-DESCRIPTION ${'d'.repeat(4000)}`,
    }));
    expect((await post(notification(alerts))).status).toBe(200);
    expect((await post(notification(alerts.map((a) => ({ ...a, status: 'resolved' as const }))))).status).toBe(200);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.length).toBeLessThan(2048);
      expect(line).not.toMatch(/SECRET-/);
    }
  });

  const longAlerts = (count: number, variant = '') =>
    notification(
      Array.from({ length: count }, (_, i) => ({
        name: `CremaLongAnnotations${i}`,
        status: 'firing' as const,
        fingerprint: `long${i}`,
        // Alertmanager passes annotations on as they are: 4,000 characters each is within its limits.
        summary: `${variant}${'A summary that goes on. '.repeat(166)}`,
        description: `${variant}${'A description with every detail. '.repeat(121)}`,
      })),
    );

  it.each([
    ['the default buffer', 256 * 1024],
    ['the smallest buffer', 16 * 1024],
  ])('keeps every stream client connected through 40 firing alerts with long annotations (%s)', async (_name, bufferBytes) => {
    web = await startTestWeb(t, { streamBufferBytes: bufferBytes });
    const before = [stream(), stream()];
    for (const c of before) await c.waitFor((x) => x.named('hello').length === 1, 'no hello');
    expect((await post(longAlerts(40))).status).toBe(200);
    for (const c of before) await c.waitFor((x) => lastAlerts(x)?.length === 40, 'a connected client did not get the 40 alerts');
    const after = stream();
    await after.waitFor((x) => lastAlerts(x)?.length === 40, 'a new client did not get the 40 alerts');

    // Everyone is still connected: a window reaches all three.
    const start = Math.floor(Date.now() / 10_000) * 10_000 + 1_000_000;
    const window: WindowSnapshot = { start, end: start + 10_000, final: false, orders: 3, drinks: 3, late: 0, age: {}, payment: {}, coffee: {} };
    await t.client.publish(t.keys.statsChannel, JSON.stringify(window));
    for (const c of [...before, after]) {
      await c.waitFor((x) => x.named('window').some((e) => (JSON.parse(e.data) as WindowSnapshot).start === start), 'a client missed the window');
      expect(c.ended).toBe(false);
    }
    expect(web.server.hub.size).toBe(3);
    expect(await metric('coffee_web_stream_dropped_clients_total', 'reason="slow"')).toBe(0);
  });

  it('still drops a stalled client when the alerts keep changing: alert states do not buy unbounded buffer', async () => {
    web = await startTestWeb(t, { streamBufferBytes: 64 * 1024 });
    const stalled = connect(Number(new URL(web.url).port), '127.0.0.1');
    stalled.on('error', () => {});
    stalled.write('GET /api/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
    stalled.pause();
    await eventually(() => web.server.hub.size === 1, { message: 'stalled client never connected' });
    try {
      for (let i = 0; i < 400 && web.server.hub.size > 0; i++) expect((await post(longAlerts(40, `change ${i}: `))).status).toBe(200);
      await eventually(() => web.server.hub.size === 0, { message: 'the stalled client was never dropped' });
      expect(await metric('coffee_web_stream_dropped_clients_total', 'reason="slow"')).toBe(1);
    } finally {
      stalled.destroy();
    }
  });
});
