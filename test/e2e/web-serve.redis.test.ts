/**
 * `crema serve` as a real process: what it refuses at start-up, and what its log shows (and must
 * not show) when clients behind proxies or Alertmanager talk to it.
 */
import { expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { freePort } from '../support/servers.js';
import { storeTestSharedSettings } from '../support/stages.js';

const env = useTestEnvironment();

function serve(flags: readonly string[] = [], extraEnv: NodeJS.ProcessEnv = {}): { process: CremaProcess; url: Promise<string> } {
  const { redis: t } = env;
  // As if a processor had run on the prefix: the page and its API know the window size.
  const portPromise = storeTestSharedSettings(t).then(() => freePort());
  let process!: CremaProcess;
  const url = portPromise.then(async (port) => {
    process = new CremaProcess('serve', ['--redis-url', t.url, '--prefix', t.prefix, '--web-port', String(port), ...flags], extraEnv);
    await process.waitForLog('serving the live page');
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${url}/healthz`)).status === 200, { message: 'crema serve never became healthy' });
    return url;
  });
  return {
    get process() {
      return process;
    },
    url,
  };
}

/** Log lines that are errors or carry a stack trace. */
function errorLines(logs: string): string[] {
  return logs.split('\n').filter((line) => /"level":"(error|fatal)"|ValidationError|ERR_ERL_|\n\s+at |^\s+at /.test(line));
}

it.each([
  ['without trust proxy', []],
  ['with trust proxy', ['--trust-proxy', '1']],
])('logs no error for a request carrying X-Forwarded-For %s', async (_name, flags) => {
  const server = serve(flags);
  const url = await server.url;
  try {
    for (const forwarded of ['203.0.113.9', '203.0.113.9, 198.51.100.2', 'not-an-address']) {
      const response = await fetch(`${url}/api/windows`, { headers: { 'x-forwarded-for': forwarded } });
      expect(response.status).toBe(200);
    }
    expect((await fetch(`${url}/api/windows`, { headers: { forwarded: 'for=203.0.113.9;proto=https' } })).status).toBe(200);
    expect((await server.process.terminate()).code).toBe(0);
    expect(errorLines(server.process.logs)).toEqual([]);
  } finally {
    await server.process.terminate();
  }
});

it.each([['serve'], ['up']])('crema %s refuses to listen beyond loopback without an alerts token (exit 2, a message that says what to do)', async (command) => {
  const { redis: t, dir } = env;
  const flags = ['--redis-url', t.url, '--prefix', t.prefix, '--web-host', '0.0.0.0'];
  if (command === 'up') flags.push('--file', dir.file('orders.jsonl'));
  const refused = new CremaProcess(command, flags, { CREMA_ALERTS_TOKEN: '' });
  try {
    const exit = await Promise.race([refused.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000))]);
    expect(exit?.code, `crema ${command} did not exit; logs:\n${refused.logs.slice(-2000)}`).toBe(2);
  } finally {
    await refused.terminate();
  }
  expect(refused.logs).toMatch(/CREMA_ALERTS_TOKEN \(--alerts-token\): required when the web server listens beyond loopback \(CREMA_WEB_HOST=0\.0\.0\.0\)/);
  expect(refused.logs).not.toMatch(/serving the live page/);
});

/** Alertmanager notifications: `count` firing alerts with 4,000-character annotations each, distinct per post. */
function bulkyNotification(post: number, count: number): string {
  const alerts = Array.from({ length: count }, (_, i) => ({
    status: 'firing',
    labels: { alertname: `CremaFlood${post}x${i}`, severity: 'warning' },
    annotations: { summary: `flood ${post}/${i} ${'s'.repeat(4080)}`, description: `flood ${post}/${i} ${'d'.repeat(4080)}` },
    startsAt: '2026-11-22T00:00:00Z',
    endsAt: '0001-01-01T00:00:00Z',
    fingerprint: `flood-${post}-${i}`,
  }));
  return JSON.stringify({ version: '4', status: 'firing', receiver: 'crema-web', groupKey: '{}', alerts });
}

async function residentBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes\{[^}]*\} (\S+)$/m.exec(text)?.[1]);
}

it('stays small under a flood of large alert posts, refuses wrong tokens without reading their bodies, and logs the cap once', async () => {
  const token = 'an-alerts-token-for-the-flood';
  const server = serve(['--alerts-token', token]);
  const url = await server.url;
  try {
    const before = await residentBytes(url);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    for (let post = 0; post < 150; post++) {
      const body = bulkyNotification(post, 110);
      expect(body.length).toBeGreaterThan(0.85 * 1024 * 1024);
      expect(body.length).toBeLessThan(1024 * 1024);
      const response = await fetch(`${url}/api/alerts`, { method: 'POST', headers, body });
      expect(response.status).toBe(200);
    }
    const afterFlood = await residentBytes(url);
    console.log(`crema serve: ${Math.round(before / 2 ** 20)} MB before, ${Math.round(afterFlood / 2 ** 20)} MB after 150 posts of 0.9 MB`);
    expect(afterFlood - before).toBeLessThan(150 * 2 ** 20);
    const wrong = { ...headers, authorization: 'Bearer not-the-alerts-token' };
    const huge = JSON.stringify({ version: '4', padding: 'x'.repeat(5 * 1024 * 1024) });
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      expect((await fetch(`${url}/api/alerts`, { method: 'POST', headers: wrong, body: huge })).status).toBe(401);
      expect(performance.now() - started).toBeLessThan(2000);
    }
    const after = await residentBytes(url);
    console.log(`crema serve: ${Math.round(after / 2 ** 20)} MB after 20 more posts of 5 MB with a wrong token`);
    // The refused bodies are discarded as they arrive: garbage for a while, never kept.
    expect(after - afterFlood).toBeLessThan(64 * 2 ** 20);

    const shown = (await (await fetch(`${url}/api/alerts`)).text());
    expect(JSON.parse(shown)).toMatchObject({ omitted: expect.any(Number) });
    expect((JSON.parse(shown) as { alerts: unknown[] }).alerts).toHaveLength(100);
    expect(shown.length).toBeLessThan(100 * 1024);

    expect((await server.process.terminate()).code).toBe(0);
    const lines = server.process.logs.split('\n').filter(Boolean);
    expect(JSON.parse(lines.find((line) => line.includes('serving the live page'))!)).toMatchObject({ alertsWebhook: 'bearer token', metrics: 'open' });
    expect(lines.filter((line) => line.includes('more alerts fire than the page shows'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('alert texts cut'))).toHaveLength(1);
    for (const line of lines) expect(line.length).toBeLessThan(2048);
  } finally {
    await server.process.terminate();
  }
}, 120_000);
