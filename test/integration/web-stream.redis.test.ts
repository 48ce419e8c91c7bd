/** `GET /api/stream`: one subscription relayed to every client, resume, slow clients. */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HelloEvent, WindowSnapshot } from '../../web/api-types.js';
import { shardLayout } from '../../core/shards.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { SseTestClient } from '../support/sse.js';
import type { TestWeb } from '../support/web.js';

const W = 10_000;
const env = useTestEnvironment();
let web: TestWeb;
const clients: SseTestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function snapshot(start: number, orders: number, padding = 0): WindowSnapshot {
  const coffee: Record<string, number> = { Espresso: orders };
  // Many categories make a big message, to fill a stalled client's buffer quickly.
  for (let i = 0; i < padding; i++) coffee[`Blend ${i}`] = i;
  return { start, end: start + W, final: false, orders, drinks: orders, late: 0, age: { '1020': orders }, payment: { Cash: orders }, coffee };
}

function open(path = '/api/stream', headers: Record<string, string> = {}): SseTestClient {
  const client = new SseTestClient(web.url + path, headers);
  clients.push(client);
  return client;
}

async function hello(client: SseTestClient): Promise<HelloEvent> {
  await client.waitFor((c) => c.named('hello').length > 0, 'no hello event');
  return JSON.parse(client.named('hello')[0]!.data) as HelloEvent;
}

const orders = (client: SseTestClient) => client.named('window').map((e) => (JSON.parse(e.data) as WindowSnapshot).orders);

describe('GET /api/stream', () => {
  it('follows the stored shard count: subscribes to every shard\'s channel and relays each window summed over the shards', async () => {
    const layout = shardLayout(env.redis.prefix, 3, false);
    // Started with the default of one shard; the stored count says three.
    web = await env.startWeb({ layout: (n) => shardLayout(env.redis.prefix, n, false), shards: 1, sharedSettings: async () => ({ windowMs: W, shards: 3 }) });
    await eventually(async () => {
      const [channels] = [(await env.redis.client.call('PUBSUB', 'SHARDNUMSUB', ...layout.shards.map((k) => k.statsChannel))) as (string | number)[]];
      return channels.filter((_, i) => i % 2 === 1).every((n) => n === 1);
    }, { message: 'not subscribed to every shard channel' });
    const client = open();
    await hello(client);
    const start = Math.floor(Date.now() / W) * W + 50 * W;
    // Each shard holds its part of the window and announces it on its own channel.
    for (const [shard, keys] of layout.shards.entries()) {
      await env.redis.client.hset(keys.window(start), { orders: String(shard + 1), drinks: String(shard + 1), 'payment:Cash': String(shard + 1) });
      await env.redis.client.call('SPUBLISH', keys.statsChannel, JSON.stringify(snapshot(start, shard + 1)));
    }
    await client.waitFor((c) => orders(c).includes(6), 'the summed window never arrived');
    const last = JSON.parse(client.named('window').at(-1)!.data) as WindowSnapshot;
    expect(last).toMatchObject({ start, orders: 6, drinks: 6, payment: { Cash: 6 } });
    // The plain channel of one shard is left.
    expect(((await env.redis.client.call('PUBSUB', 'NUMSUB', env.redis.keys.statsChannel)) as [string, number])[1]).toBe(0);
  });

  it('relays every published window to every client, in order, over one subscription', async () => {
    web = await env.startWeb();
    const many = Array.from({ length: 5 }, () => open());
    for (const c of many) expect((await hello(c)).resumed).toBe(false);
    const start = Math.floor(Date.now() / W) * W + 100 * W;
    const count = 300;
    for (let i = 1; i <= count; i++) await env.redis.client.publish(env.redis.keys.statsChannel, JSON.stringify(snapshot(start, i)));
    for (const c of many) {
      await c.waitFor((x) => x.named('window').length >= count, 'not every window arrived');
      expect(orders(c)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      const seqs = c.named('window').map((e) => Number(e.id!.split('.')[1]));
      expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
    }
    const subscribers = (await env.redis.client.call('PUBSUB', 'NUMSUB', env.redis.keys.statsChannel)) as [string, number];
    expect(subscribers[1]).toBe(1);
    expect(await web.metrics.registry.getSingleMetricAsString('coffee_web_stream_clients')).toMatch(/coffee_web_stream_clients\{host="test-host"\} 5/);
  });

  it('sends the current window first to a new client', async () => {
    web = await env.startWeb();
    const start = Math.floor(Date.now() / W) * W;
    await env.redis.client.hset(env.redis.keys.window(start), { orders: '7', drinks: '9', 'age:1020': '7', 'payment:Debit': '7', 'coffee:Americano': '9' });
    await env.redis.client.zadd(env.redis.keys.windows, start, String(start));
    const client = open();
    await client.waitFor((c) => c.named('window').length > 0, 'no snapshot on connect');
    expect(client.events.map((e) => e.event).slice(0, 2)).toEqual(['hello', 'window']);
    expect(JSON.parse(client.named('window')[0]!.data)).toMatchObject({ start, orders: 7, drinks: 9, payment: { Debit: 7 } });
  });

  it('resumes from Last-Event-ID with exactly the missed windows, and tells a client it cannot resume to refetch', async () => {
    web = await env.startWeb();
    const start = Math.floor(Date.now() / W) * W + 100 * W;
    const first = open();
    await hello(first);
    for (let i = 1; i <= 5; i++) await env.redis.client.publish(env.redis.keys.statsChannel, JSON.stringify(snapshot(start, i)));
    await first.waitFor((c) => c.named('window').length === 5, 'first five windows');
    const lastId = first.named('window')[4]!.id!;
    first.close();
    for (let i = 6; i <= 9; i++) await env.redis.client.publish(env.redis.keys.statsChannel, JSON.stringify(snapshot(start, i)));
    await eventually(async () => Number(/coffee_web_stream_messages_total\{[^}]*\} (\d+)/.exec(await web.metrics.registry.metrics())?.[1]) === 9, { message: 'server did not relay 9 windows' });

    const resumed = open('/api/stream', { 'last-event-id': lastId });
    expect((await hello(resumed)).resumed).toBe(true);
    await resumed.waitFor((c) => c.named('window').length === 4, 'missed windows not replayed');
    expect(orders(resumed)).toEqual([6, 7, 8, 9]);

    const byQuery = open(`/api/stream?lastEventId=${encodeURIComponent(lastId)}`);
    expect((await hello(byQuery)).resumed).toBe(true);

    const stranger = open('/api/stream', { 'last-event-id': 'otherprocess.3' });
    expect((await hello(stranger)).resumed).toBe(false);
  });

  it('sends heartbeats', async () => {
    web = await env.startWeb({ heartbeatMs: 50 });
    const client = open();
    await client.waitFor((c) => c.comments >= 3, 'no heartbeats');
  });

  it('turns clients away beyond the limit', async () => {
    web = await env.startWeb({ streamMaxClients: 2 });
    await hello(open());
    await hello(open());
    const third = open();
    await third.waitFor((c) => c.status !== undefined, 'no answer');
    expect(third.status).toBe(503);
  });

  it('drops a stalled client without delaying the others', async () => {
    web = await env.startWeb({ streamBufferBytes: 512 * 1024 });
    const fast = Array.from({ length: 3 }, () => open());
    for (const c of fast) await hello(c);
    // A client that sends its request and never reads: its kernel buffers fill, then the server's.
    const stalled = connect(Number(new URL(web.url).port), '127.0.0.1');
    stalled.on('error', () => {});
    stalled.write('GET /api/stream HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
    stalled.pause();
    await eventually(() => web.server.hub.size === 4, { message: 'stalled client never connected' });

    const start = Math.floor(Date.now() / W) * W + 100 * W;
    const count = 600;
    const publishedAt: number[] = [];
    for (let i = 1; i <= count; i++) {
      publishedAt.push(performance.now());
      // ~40 KB each: 24 MB in all, more than loopback socket buffers hold.
      await env.redis.client.publish(env.redis.keys.statsChannel, JSON.stringify(snapshot(start, i, 2000)));
      if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const c of fast) {
      await c.waitFor((x) => x.named('window').length >= count, 'a fast client missed windows', 20_000);
      expect(orders(c)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      const delays = c.named('window').map((e, i) => e.receivedAt - publishedAt[i]!);
      delays.sort((a, b) => a - b);
      expect(delays[Math.floor(delays.length * 0.99)]!).toBeLessThan(1000);
    }
    await eventually(() => web.server.hub.size === 3, { message: 'the stalled client was not dropped' });
    expect(await web.metrics.registry.getSingleMetricAsString('coffee_web_stream_dropped_clients_total')).toMatch(/reason="slow",host="test-host"\} 1/);
    stalled.destroy();
  });
});
