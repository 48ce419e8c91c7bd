/** The Lua scripts' promises, one by one, against a real Redis. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { EnvelopeBatch } from '../../collector/envelope-batch.js';
import { type TestRedis, testRedis } from '../support/redis.js';

let t: TestRedis;
let redis: Redis;
beforeEach(async () => {
  t = testRedis();
  redis = await t.connected();
});
afterEach(() => t.cleanup());

describe('push-batch', () => {
  it('pushes and moves the position only from the expected position', async () => {
    const { queue, offsets } = t.keys;
    expect(await redis.initPosition(offsets, 'f1', '0:0')).toBe('0:0');
    expect(await redis.initPosition(offsets, 'f1', '0:999')).toBe('0:0');
    const batch = new EnvelopeBatch(8);
    batch.add('a', Buffer.from('\n1'), 0, 2);
    batch.add('', Buffer.from([0xff, 0x00]), 0, 2);
    expect(await redis.pushBatch(queue, offsets, 'f1', '0:0', '0:20', batch.packed())).toEqual([0, 2]);
    // A replay of the same push (lost answer, resent) changes nothing.
    expect(await redis.pushBatch(queue, offsets, 'f1', '0:0', '0:20', batch.packed())).toEqual([-1, '0:20']);
    expect(await redis.pushBatch(queue, offsets, 'f1', '0:20', '1:0', new EnvelopeBatch(8).packed())).toEqual([0, 2]);
    expect(await t.client.lrangeBuffer(queue, 0, -1)).toEqual([Buffer.from('a\n1'), Buffer.from([0xff, 0x00])]);
    expect(await t.client.hget(offsets, 'f1')).toBe('1:0');
  });
});

describe('claim, commit and recovery', () => {
  const lease = (c: string) => t.keys.lease(c);
  const processing = (c: string) => t.keys.processing(c);
  const start = Math.floor(Date.now() / 10_000) * 10_000;
  const commitArgs = (token: string, ...rest: (string | number)[]) =>
    [lease('p1'), processing('p1'), t.keys.windows, t.keys.open, t.keys.dirty, t.keys.dead, t.keys.changes, token, 10_000, t.keys.windowPrefix, 10_000, 86_400_000, 2, ...rest] as const;

  it('commits a claimed batch once, fenced by the lease token', async () => {
    await t.client.rpush(t.keys.queue, 'e1', 'e2', 'e3', 'e4', 'e5');
    expect(await redis.acquireLease(lease('p1'), t.keys.consumers, processing('p1'), 'tok1', 10_000, 'p1')).toBe(0);
    expect(await redis.claimBatch(t.keys.queue, processing('p1'), lease('p1'), 'tok1', 2, 10_000, 'next')).toEqual([0, ['e1', 'e2']]);
    // A prefetched claim appends the next batch behind the one not yet committed.
    expect(await redis.claimBatch(t.keys.queue, processing('p1'), lease('p1'), 'tok1', 2, 10_000, 'next')).toEqual([0, ['e3', 'e4']]);
    // After a restart, resume hands back everything claimed and not committed: counted once, again.
    expect(await redis.claimBatch(t.keys.queue, processing('p1'), lease('p1'), 'tok1', 2, 10_000, 'resume')).toEqual([0, ['e1', 'e2', 'e3', 'e4']]);
    // A stale token can neither claim nor commit.
    expect(await redis.claimBatch(t.keys.queue, processing('p1'), lease('p1'), 'old', 2, 10_000, 'next')).toEqual([-2]);
    expect(await redis.commitBatch(...commitArgs('old', 0, start, 2, 1, 'orders', 2))).toEqual([-2]);
    expect(await redis.commitBatch(...commitArgs('tok1', 1, '{"reason":"x"}', start, 2, 2, 'orders', 2, 'drinks', 5))).toEqual([0, 0]);
    expect(await t.client.hgetall(t.keys.window(start))).toEqual({ orders: '2', drinks: '5' });
    // The commit removed exactly its batch, the first two envelopes.
    expect(await t.client.lrange(processing('p1'), 0, -1)).toEqual(['e3', 'e4']);
    expect(await t.client.lrange(t.keys.dead, 0, -1)).toEqual(['{"reason":"x"}']);
    expect(await t.client.zrange(t.keys.open, '0', '-1')).toEqual([String(start)]);
    expect(await t.client.zrange(t.keys.windows, '0', '-1')).toEqual([String(start)]);
    // A window expires a retention after its end.
    const ttl = await t.client.pttl(t.keys.window(start));
    expect(ttl).toBeGreaterThan(86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000 + 10_000);

  });

  it('puts an expired consumer’s batch back at the head of the queue, in order', async () => {
    await t.client.rpush(t.keys.queue, 'e1', 'e2', 'e3', 'e4');
    await redis.acquireLease(lease('p1'), t.keys.consumers, processing('p1'), 'tok1', 10_000, 'p1');
    await redis.claimBatch(t.keys.queue, processing('p1'), lease('p1'), 'tok1', 2, 10_000, 'next');
    expect(await redis.recoverConsumers(t.keys.consumers, t.keys.queue, t.keys.processingPrefix, t.keys.leasePrefix)).toEqual([0, 0]);
    await t.client.del(lease('p1')); // the lease expires
    expect(await redis.recoverConsumers(t.keys.consumers, t.keys.queue, t.keys.processingPrefix, t.keys.leasePrefix)).toEqual([1, 2]);
    expect(await t.client.lrange(t.keys.queue, 0, -1)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(await t.client.smembers(t.keys.consumers)).toEqual([]);
    // The old holder cannot commit what it claimed.
    expect(await redis.commitBatch(...commitArgs('tok1', 0, start, 1, 1, 'orders', 1))).toEqual([-2]);
  });

  it('releases a lease at shutdown and forgets a consumer with nothing claimed', async () => {
    await redis.acquireLease(lease('p1'), t.keys.consumers, processing('p1'), 'tok1', 10_000, 'p1');
    expect(await redis.releaseLease(lease('p1'), processing('p1'), t.keys.consumers, 'tok1', 'p1')).toBe(0);
    expect(await t.client.exists(lease('p1'))).toBe(0);
    expect(await t.client.smembers(t.keys.consumers)).toEqual([]);
  });
});

describe('tick', () => {
  it('closes due windows, publishes changes once, and counts late orders into a closed window as revisions', async () => {
    const W = 10_000;
    const now = Math.floor(Date.now() / W) * W;
    const oldStart = now - 3 * W;
    const openStart = now - W;
    await redis.acquireLease(t.keys.lease('p1'), t.keys.consumers, t.keys.processing('p1'), 'tok', 10_000, 'p1');
    const commit = (start: number, orders: number) =>
      redis.commitBatch(t.keys.lease('p1'), t.keys.processing('p1'), t.keys.windows, t.keys.open, t.keys.dirty, t.keys.dead, t.keys.changes, 'tok', 10_000, t.keys.windowPrefix, W, 86_400_000, 0, 0, start, orders, 1, 'orders', orders);
    await commit(oldStart, 3);
    await commit(openStart, 1);

    const tick = (at: number) => redis.tick(t.keys.open, t.keys.dirty, t.keys.windows, t.keys.changes, t.keys.windowPrefix, at, W, W, 86_400_000);
    const first = await tick(now);
    expect(first[0]).toBe(1);
    expect(first.slice(1)).toHaveLength(4);
    expect(await t.client.hget(t.keys.window(oldStart), 'final')).toBe('1');
    expect(await t.client.hget(t.keys.window(openStart), 'final')).toBeNull();
    expect(await tick(now)).toEqual([0]);

    expect(await commit(oldStart, 2)).toEqual([0, 2]);
    expect(await t.client.hgetall(t.keys.window(oldStart))).toEqual({ orders: '5', final: '1', late: '2' });
    expect(await t.client.zrange(t.keys.open, '0', '-1')).toEqual([String(openStart)]);
    const revised = await tick(now);
    expect(revised).toEqual([0, String(oldStart), ['orders', '5', 'final', '1', 'late', '2']]);
    const events = await t.client.xrange(t.keys.changes, '-', '+');
    expect(events.map(([, fields]) => fields)).toEqual([
      ['start', String(oldStart), 'kind', 'final'],
      ['start', String(oldStart), 'kind', 'revised'],
    ]);
  });
});
