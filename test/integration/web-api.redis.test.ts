/** `GET /api/windows` and the server around it, against a real Redis. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WindowsResponse } from '../../web/api-types.js';
import { type TestRedis, testRedis } from '../support/redis.js';
import { type RedisServer, startPrivateRedis } from '../support/servers.js';
import { eventually } from '../support/eventually.js';
import { type TestWeb, startTestWeb } from '../support/web.js';

const W = 10_000;
let t: TestRedis;
let web: TestWeb;
beforeEach(async () => {
  t = testRedis();
  web = await startTestWeb(t);
});
afterEach(async () => {
  await web.close();
  await t.cleanup();
});

/** Stores windows as the processor does: a hash each and the index. */
async function seed(starts: readonly number[]): Promise<void> {
  const multi = t.client.multi();
  for (const [i, start] of starts.entries()) {
    multi.hset(t.keys.window(start), {
      orders: String(i + 1),
      drinks: String(2 * (i + 1)),
      'age:1020': String(i + 1),
      'payment:Cash': String(i + 1),
      'coffee:Espresso': String(2 * (i + 1)),
      final: '1',
      late: '0',
    });
    multi.zadd(t.keys.windows, start, String(start));
  }
  await multi.exec();
}

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(web.url + path, { headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as WindowsResponse & { error?: string; parameter?: string } };
}

const base = Math.floor(Date.now() / W) * W - 100 * W;
const starts = Array.from({ length: 50 }, (_, i) => base + i * W);

describe('GET /api/windows', () => {
  it('returns the windows of a range, oldest first, with their bounds in UTC', async () => {
    await seed(starts);
    const from = new Date(starts[10]!).toISOString();
    const to = new Date(starts[14]!).toISOString();
    const { status, body, headers } = await get(`/api/windows?from=${from}&to=${to}`);
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body.windows.map((w) => w.start)).toEqual(starts.slice(10, 15));
    expect(body).toMatchObject({ from, to, limit: 20, windowMs: W, truncated: false });
    expect(body.windows[0]).toEqual({
      start: starts[10],
      end: starts[10]! + W,
      startTime: new Date(starts[10]!).toISOString(),
      endTime: new Date(starts[10]! + W).toISOString(),
      final: true,
      orders: 11,
      drinks: 22,
      late: 0,
      age: { '1020': 11 },
      payment: { Cash: 11 },
      coffee: { Espresso: 22 },
    });
    expect(body.windows[0]!.startTime).toMatch(/Z$/);
  });

  it('takes epoch milliseconds and ISO-8601 with any offset alike', async () => {
    await seed(starts);
    const byMs = await get(`/api/windows?from=${starts[3]}&to=${starts[7]}`);
    const offset = new Date(starts[3]! + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const byIso = await get(`/api/windows?from=${encodeURIComponent(offset)}&to=${new Date(starts[7]!).toISOString()}`);
    expect(byMs.body.windows.map((w) => w.start)).toEqual(starts.slice(3, 8));
    expect(byIso.body.windows).toEqual(byMs.body.windows);
  });

  it('returns the latest windows up to the limit and says when the range holds more', async () => {
    await seed(starts);
    const { body } = await get('/api/windows?limit=5');
    expect(body.windows.map((w) => w.start)).toEqual(starts.slice(-5));
    expect(body.truncated).toBe(true);
    const all = await get('/api/windows?limit=50');
    expect(all.body.windows).toHaveLength(50);
    expect(all.body.truncated).toBe(false);
  });

  it('answers an empty list when there is no data', async () => {
    const { status, body } = await get('/api/windows');
    expect(status).toBe(200);
    expect(body.windows).toEqual([]);
    expect(body.truncated).toBe(false);
  });

  it('caps large ranges at the limit and reads them in one pipeline', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => base - 3000 * W + i * W);
    await seed(many);
    const started = performance.now();
    const { status, body } = await get(`/api/windows?from=0&to=${Date.now()}&limit=1000`);
    const elapsed = performance.now() - started;
    expect(status).toBe(200);
    expect(body.windows).toHaveLength(1000);
    expect(body.windows.map((w) => w.start)).toEqual(many.slice(-1000));
    expect(body.truncated).toBe(true);
    expect(elapsed).toBeLessThan(2000);
    expect((await get('/api/windows?limit=1001')).status).toBe(400);
  });

  it('skips windows whose hash expired but whose index entry remains', async () => {
    await seed(starts.slice(0, 3));
    await t.client.del(t.keys.window(starts[1]!));
    const { body } = await get(`/api/windows?from=${starts[0]}`);
    expect(body.windows.map((w) => w.start)).toEqual([starts[0], starts[2]]);
  });

  it.each([
    ['from=yesterday', 'from', /ISO-8601/],
    ['to=2026-11-21T10:00:00', 'to', /zone/],
    ['from=-5', 'from', /ISO-8601/],
    ['limit=0', 'limit', /at least 1/],
    ['limit=ten', 'limit', /whole number/],
    ['limit=1000000', 'limit', /at most 1000/],
    [`from=${Date.now()}&to=${Date.now() - 1000}`, 'from', /after to/],
    ['limit=5&limit=6', 'limit', /once/],
    ['window=1', 'window', /not a parameter/],
    ['from=<script>alert(1)</script>', 'from', /ISO-8601/],
    // Date.parse would roll these over to March 2 and March 1.
    ['from=2026-02-30T00:00:00Z', 'from', /not a real date and time/],
    ['to=2025-02-29T12:00:00Z', 'to', /not a real date and time/],
  ])('rejects %s with 400 naming %s', async (query, parameter, message) => {
    const { status, body, headers } = await get(`/api/windows?${query}`);
    expect(status).toBe(400);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.parameter).toBe(parameter);
    expect(body.error).toMatch(new RegExp(`^${parameter}: `));
    expect(body.error).toMatch(message);
    expect(body.error).not.toContain('<script>');
  });
});

describe('the web server', () => {
  it('sends a strict Content Security Policy and no CORS header by default', async () => {
    const page = await fetch(`${web.url}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const api = await get('/api/windows', { origin: 'https://elsewhere.example' });
    expect(api.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows only the configured CORS origins', async () => {
    await web.close();
    web = await startTestWeb(t, { corsOrigins: ['https://dash.example'] });
    const allowed = await get('/api/windows', { origin: 'https://dash.example' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dash.example');
    const other = await get('/api/windows', { origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${web.url}/api/windows`, { method: 'OPTIONS', headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
  });

  it('limits the request rate of the API', async () => {
    await web.close();
    web = await startTestWeb(t, { apiRateLimit: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${web.url}/api/windows`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    // The page itself is not limited.
    expect((await fetch(`${web.url}/`)).status).toBe(200);
  });

  it('serves the page with cache headers: the HTML revalidated, hashed bundles kept for good', async () => {
    const html = await fetch(`${web.url}/`);
    expect(html.headers.get('cache-control')).toBe('no-cache');
    const text = await html.text();
    const script = /src="(page-[A-Z0-9]{8}\.js)"/.exec(text)?.[1];
    const style = /href="(style-[A-Z0-9]{8}\.css)"/.exec(text)?.[1];
    expect(script && style).toBeTruthy();
    expect(text).not.toMatch(/<script>|<style|style="/);
    for (const asset of [script, style]) {
      const response = await fetch(`${web.url}/${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await fetch(`${web.url}/nothing-here`)).status).toBe(404);
    expect((await fetch(`${web.url}/api/nothing`)).status).toBe(404);
  });

  it('serves /healthz and /metrics', async () => {
    await eventually(async () => (await fetch(`${web.url}/healthz`)).status === 200, { message: 'healthz never became healthy' });
    expect(await (await fetch(`${web.url}/healthz`)).json()).toMatchObject({ ok: true, redis: 'up', subscribed: true });
    const metrics = await (await fetch(`${web.url}/metrics`)).text();
    expect(metrics).toContain('coffee_web_stream_clients');
    expect(metrics).toContain('coffee_web_requests_total');
  });
});

describe('when Redis is down', () => {
  let server: RedisServer;
  afterEach(async () => {
    await server?.dispose();
  });

  it('answers 503 and recovers when Redis is back', async () => {
    server = await startPrivateRedis();
    await web.close();
    web = await startTestWeb(t, {}, server.url);
    await eventually(async () => (await fetch(`${web.url}/api/windows`)).status === 200, { message: 'API never answered' });
    await server.stop();
    await eventually(async () => (await fetch(`${web.url}/api/windows`)).status === 503, { message: 'API did not report the outage' });
    const down = await get('/api/windows');
    expect(down.body.error).toMatch(/Redis is unreachable/);
    expect((await fetch(`${web.url}/healthz`)).status).toBe(503);
    // The page still loads, so it can show the outage.
    expect((await fetch(`${web.url}/`)).status).toBe(200);
    await server.start();
    await eventually(async () => (await fetch(`${web.url}/api/windows`)).status === 200, { timeoutMs: 20_000, message: 'API did not recover' });
    await eventually(async () => (await fetch(`${web.url}/healthz`)).status === 200, { timeoutMs: 20_000, message: 'healthz did not recover' });
  });
});

describe('methods', () => {
  it.each([
    ['POST', '/api/windows', 'GET, HEAD'],
    ['DELETE', '/api/windows', 'GET, HEAD'],
    ['PUT', '/api/stream', 'GET, HEAD'],
    ['DELETE', '/api/alerts', 'GET, HEAD, POST'],
    ['PATCH', '/api/alerts', 'GET, HEAD, POST'],
    ['PUT', '/healthz', 'GET, HEAD'],
    ['POST', '/metrics', 'GET, HEAD'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const response = await fetch(web.url + path, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(((await response.json()) as { error: string }).error).toBe(`method ${method} not allowed on ${path}; allowed: ${allow}`);
  });

  it('answers OPTIONS on a known route with its methods, and 404 on unknown routes whatever the method', async () => {
    const options = await fetch(`${web.url}/api/windows`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${web.url}/api/nothing`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${web.url}/api/windows`, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('behind a reverse proxy', () => {
  const status = (path: string, headers: Record<string, string>) => fetch(web.url + path, { headers }).then((r) => r.status);
  const hsts = (headers: Record<string, string> = {}) => fetch(`${web.url}/`, { headers }).then((r) => r.headers.get('strict-transport-security'));

  it('with trust proxy set, limits each client behind the proxy on its own', async () => {
    await web.close();
    web = await startTestWeb(t, { apiRateLimit: 2, trustProxy: 1 });
    const client = (ip: string) => status('/api/windows', { 'x-forwarded-for': ip });
    expect([await client('203.0.113.1'), await client('203.0.113.1'), await client('203.0.113.1')]).toEqual([200, 200, 429]);
    expect(await client('203.0.113.2')).toBe(200);
    expect(await client('198.51.100.7, 203.0.113.3')).toBe(200);
  });

  it('without trust proxy, ignores X-Forwarded-For: clients cannot choose their own rate-limit key', async () => {
    await web.close();
    web = await startTestWeb(t, { apiRateLimit: 2 });
    const client = (ip: string) => status('/api/windows', { 'x-forwarded-for': ip });
    expect([await client('203.0.113.1'), await client('203.0.113.2'), await client('203.0.113.3')]).toEqual([200, 200, 429]);
  });

  it('sends Strict-Transport-Security only when the request came over HTTPS through a trusted proxy', async () => {
    expect(await hsts()).toBeNull();
    // A client cannot claim HTTPS itself.
    expect(await hsts({ 'x-forwarded-proto': 'https' })).toBeNull();
    await web.close();
    web = await startTestWeb(t, { trustProxy: ['loopback'] });
    expect(await hsts()).toBeNull();
    expect(await hsts({ 'x-forwarded-proto': 'http' })).toBeNull();
    expect(await hsts({ 'x-forwarded-proto': 'https' })).toBe('max-age=31536000; includeSubDomains');
    const api = await fetch(`${web.url}/api/windows`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(api.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});

describe('/metrics on the page port', () => {
  it('can be turned off, leaving /healthz', async () => {
    await web.close();
    web = await startTestWeb(t, { metricsEndpoint: 'off' });
    const metrics = await fetch(`${web.url}/metrics`);
    expect(metrics.status).toBe(404);
    expect(((await metrics.json()) as { error: string }).error).toMatch(/CREMA_WEB_METRICS/);
    expect(await (await fetch(`${web.url}/healthz`)).json()).toMatchObject({ redis: 'up' });
  });

  it('requires the bearer token when one is set, as Prometheus sends it with authorization credentials', async () => {
    const token = 'metrics-token-0123456789';
    await web.close();
    web = await startTestWeb(t, { metricsToken: token });
    const scrape = (headers: Record<string, string> = {}) => fetch(`${web.url}/metrics`, { headers });
    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await scrape({ authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await scrape({ authorization: token })).status).toBe(401);
    const ok = await scrape({ authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('coffee_web_stream_clients');
  });
});
