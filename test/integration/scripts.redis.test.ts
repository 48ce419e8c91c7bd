/** The Lua scripts' promises, one by one, through the typed layer, against a real Redis. */
import { beforeEach, describe, expect, it } from 'vitest';
import { EnvelopeBatch } from '../../collector/envelope-batch.js';
import { type DeadLetterEntry, deadLetterOf } from '../../core/dead-letter.js';
import { ClaimLostError, LeaseLostError, OffsetConflictError } from '../../core/errors.js';
import { type BatchCommit, type LeaseHold, ScriptArgumentError, Scripts } from '../../core/scripts.js';
import { useTestEnvironment } from '../support/fixtures.js';

const W = 10_000;
const RULES = { windowMs: W, graceMs: W, retentionMs: 86_400_000 };
const p1: LeaseHold = { consumer: 'p1', token: 'tok1', leaseMs: 10_000 };

const env = useTestEnvironment();
let scripts: Scripts;
/** The same scripts without the client's checks: what a buggy or hostile caller could send. */
let unchecked: Scripts;
beforeEach(async () => {
  const redis = await env.redis.connected();
  scripts = new Scripts(redis, env.redis.keys);
  unchecked = new Scripts(redis, env.redis.keys, { clientChecks: false });
});

const bytes = (...items: string[]) => items.map((i) => Buffer.from(i));
/** A dead letter of a queue element that is not an envelope. */
const deadOf = (element: string, reason = 'invalid_envelope') => deadLetterOf(Buffer.from(element), reason, 'not an envelope', Date.now());

/** One window's increments, as the processor builds them. */
function commit(envelopes: Buffer[], windows: [number, number, Record<string, number>][], dead: DeadLetterEntry[] = []): BatchCommit {
  return {
    envelopes,
    dead,
    windows: new Map(windows.map(([start, orders, fields]) => [start, { orders, fields: new Map(Object.entries(fields)) }])),
  };
}

/** Every key of the test's prefix with its serialized value: equal snapshots mean nothing was written. */
async function snapshot(): Promise<Record<string, string>> {
  const keys = (await env.redis.client.keys(`${env.redis.prefix}*`)).sort();
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = ((await env.redis.client.dumpBuffer(key)) ?? Buffer.alloc(0)).toString('hex');
  return out;
}

/** Two envelopes as the collector encodes them. */
function twoEnvelopes(): ReturnType<EnvelopeBatch['encoded']> {
  const batch = new EnvelopeBatch(64);
  batch.add('h\n', Buffer.from('{"n":1}'), 0, 7);
  batch.add('h\n', Buffer.from('{"n":2}'), 0, 7);
  return batch.encoded();
}

describe('push-batch', () => {
  it('pushes once on a Redis that lost its script cache (a promoted replica, a restarted master)', async () => {
    await scripts.initPosition('f1', '0:0');
    expect(await scripts.pushBatch({ fileKey: 'f1', expected: '0:0', next: '0:16', envelopes: twoEnvelopes() })).toBe(2);
    await env.redis.client.script('FLUSH');
    expect(await scripts.pushBatch({ fileKey: 'f1', expected: '0:16', next: '0:32', envelopes: twoEnvelopes() })).toBe(4);
    expect(await env.redis.client.llen(env.redis.keys.queue)).toBe(4);
    expect(await env.redis.client.hget(env.redis.keys.offsets, 'f1')).toBe('0:32');
  });

  it('pushes and moves the position only from the expected position', async () => {
    expect(await scripts.initPosition('f1', '0:0')).toBe('0:0');
    expect(await scripts.initPosition('f1', '0:999')).toBe('0:0');
    const batch = new EnvelopeBatch(8);
    batch.add('a', Buffer.from('\n1'), 0, 2);
    batch.add('', Buffer.from([0xff, 0x00]), 0, 2);
    expect(await scripts.pushBatch({ fileKey: 'f1', expected: '0:0', next: '0:20', envelopes: batch.encoded() })).toBe(2);
    // A replay of the same push (lost answer, resent) changes nothing: its envelopes are taken off again.
    const replay = scripts.pushBatch({ fileKey: 'f1', expected: '0:0', next: '0:20', envelopes: batch.encoded() });
    await expect(replay).rejects.toBeInstanceOf(OffsetConflictError);
    await expect(replay).rejects.toMatchObject({ actual: '0:20' });
    expect(await scripts.pushBatch({ fileKey: 'f1', expected: '0:20', next: '1:0', envelopes: new EnvelopeBatch(8).encoded() })).toBe(2);
    expect(await env.redis.client.lrangeBuffer(env.redis.keys.queue, 0, -1)).toEqual([Buffer.from('a\n1'), Buffer.from([0xff, 0x00])]);
    expect(await env.redis.client.hget(env.redis.keys.offsets, 'f1')).toBe('1:0');
  });
});

describe('claim, commit and recovery', () => {
  const start = Math.floor(Date.now() / W) * W;

  it('refuses a claim when the processing list does not hold what the processor holds (a commit a failover undid)', async () => {
    await env.redis.client.rpush(env.redis.keys.queue, 'e1', 'e2', 'e3', 'e4');
    await scripts.acquireLease(p1);
    expect(await scripts.claimBatch(p1, 'next', 2, 0)).toEqual(bytes('e1', 'e2'));
    // The prefetch, sent while e1 and e2 are still claimed: two held, two in the list.
    expect(await scripts.claimBatch(p1, 'next', 2, 2)).toEqual(bytes('e3', 'e4'));
    // The processor committed both batches and holds nothing, but the list still has them, as after
    // a failover to a replica that never got the commits: refused, nothing moved.
    await env.redis.client.rpush(env.redis.keys.queue, 'e5');
    await expect(scripts.claimBatch(p1, 'next', 2, 0)).rejects.toBeInstanceOf(ClaimLostError);
    expect(await env.redis.client.llen(env.redis.keys.queue)).toBe(1);
    // Recounted from the list instead.
    expect(await scripts.claimBatch(p1, 'resume', 2)).toEqual(bytes('e1', 'e2', 'e3', 'e4'));
  });

  it('commits a claimed batch once, fenced by the lease token', async () => {
    await env.redis.client.rpush(env.redis.keys.queue, 'e1', 'e2', 'e3', 'e4', 'e5');
    expect(await scripts.acquireLease(p1)).toBe(0);
    expect(await scripts.claimBatch(p1, 'next', 2)).toEqual(bytes('e1', 'e2'));
    // A prefetched claim appends the next batch behind the one not yet committed.
    expect(await scripts.claimBatch(p1, 'next', 2)).toEqual(bytes('e3', 'e4'));
    // After a restart, resume hands back everything claimed and not committed: counted once, again.
    expect(await scripts.claimBatch(p1, 'resume', 2)).toEqual(bytes('e1', 'e2', 'e3', 'e4'));
    // A stale token can neither claim nor commit.
    const stale = { ...p1, token: 'old' };
    await expect(scripts.claimBatch(stale, 'next', 2)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(scripts.commitBatch(stale, commit(bytes('e1', 'e2'), [[start, 2, { orders: 2 }]]), RULES)).rejects.toBeInstanceOf(LeaseLostError);
    const dead = deadOf('e2', 'x');
    expect(await scripts.commitBatch(p1, commit(bytes('e1', 'e2'), [[start, 1, { orders: 1, drinks: 5 }]], [dead]), RULES)).toEqual({ late: 0, trimmed: 0 });
    expect(await env.redis.client.hgetall(env.redis.keys.window(start))).toEqual({ orders: '1', drinks: '5' });
    // The commit removed exactly its batch, the first two envelopes.
    expect(await env.redis.client.lrange(env.redis.keys.processing('p1'), 0, -1)).toEqual(['e3', 'e4']);
    expect(await env.redis.client.zrange(env.redis.keys.deadIndex, '0', '-1')).toEqual(['0000000000000001:x']);
    expect(await env.redis.client.hgetBuffer(env.redis.keys.deadLetters, '1')).toEqual(dead.record);
    expect(await env.redis.client.zscore(env.redis.keys.deadIndex, '0000000000000001:x')).toBe(String(dead.at));
    expect(await env.redis.client.zrange(env.redis.keys.open, '0', '-1')).toEqual([String(start)]);
    expect(await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')).toEqual([String(start)]);
    // A window expires a retention after its end.
    const ttl = await env.redis.client.pttl(env.redis.keys.window(start));
    expect(ttl).toBeGreaterThan(86_400_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000 + W);
  });

  it('writes nothing when the processing list does not start with the batch being committed', async () => {
    await env.redis.client.rpush(env.redis.keys.queue, 'e1', 'e2', 'e3');
    await scripts.acquireLease(p1);
    await scripts.claimBatch(p1, 'next', 2);
    const before = await snapshot();
    // The list holds e1, e2: a batch that starts elsewhere, ends elsewhere, or is longer is not the claimed one.
    for (const envelopes of [bytes('e2', 'e3'), bytes('e1', 'e3'), bytes('e1', 'e2', 'e3'), bytes('e0', 'e2')]) {
      const attempt = scripts.commitBatch(p1, commit(envelopes, [[start, 1, { orders: 1 }]]), RULES);
      await expect(attempt, envelopes.join(',')).rejects.toBeInstanceOf(ClaimLostError);
    }
    // After a failover that lost the claim, the list is empty.
    await env.redis.client.del(env.redis.keys.processing('p1'));
    await expect(scripts.commitBatch(p1, commit(bytes('e1', 'e2'), [[start, 1, { orders: 1 }]]), RULES)).rejects.toBeInstanceOf(ClaimLostError);
    const { [env.redis.keys.processing('p1')]: _, ...rest } = before;
    expect(await snapshot()).toEqual(rest);
  });

  it('compares claimed envelopes byte for byte, binary ones too', async () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3]);
    await env.redis.client.rpush(env.redis.keys.queue, binary, Buffer.from('e2'));
    await scripts.acquireLease(p1);
    const claimed = await scripts.claimBatch(p1, 'next', 2);
    expect(claimed[0]).toEqual(binary);
    expect(await scripts.commitBatch(p1, commit(claimed, [], [deadOf('a'), deadOf('b')]), RULES)).toEqual({ late: 0, trimmed: 0 });
    expect(await env.redis.client.llen(env.redis.keys.processing('p1'))).toBe(0);
  });

  it('puts an expired consumer’s batch back at the head of the queue, in order', async () => {
    await env.redis.client.rpush(env.redis.keys.queue, 'e1', 'e2', 'e3', 'e4');
    await scripts.acquireLease(p1);
    await scripts.claimBatch(p1, 'next', 2);
    expect(await scripts.recoverConsumers()).toEqual({ consumers: 0, envelopes: 0 });
    await env.redis.client.del(env.redis.keys.lease('p1')); // the lease expires
    expect(await scripts.recoverConsumers()).toEqual({ consumers: 1, envelopes: 2 });
    expect(await env.redis.client.lrange(env.redis.keys.queue, 0, -1)).toEqual(['e1', 'e2', 'e3', 'e4']);
    expect(await env.redis.client.smembers(env.redis.keys.consumers)).toEqual([]);
    // The old holder cannot commit what it claimed.
    await expect(scripts.commitBatch(p1, commit(bytes('e1', 'e2'), [[start, 1, { orders: 1 }]]), RULES)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('renews and releases a lease, and forgets a consumer with nothing claimed', async () => {
    await scripts.acquireLease(p1);
    await scripts.renewLease(p1);
    await expect(scripts.renewLease({ ...p1, token: 'old' })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await scripts.releaseLease(p1)).toBe(0);
    expect(await env.redis.client.exists(env.redis.keys.lease('p1'))).toBe(0);
    expect(await env.redis.client.smembers(env.redis.keys.consumers)).toEqual([]);
    await expect(scripts.releaseLease(p1)).rejects.toBeInstanceOf(LeaseLostError);
  });
});

describe('tick', () => {
  const now = Math.floor(Date.now() / W) * W;

  /** Claims `n` fresh envelopes and commits `orders` of them into `start`. */
  async function countInto(start: number, orders: number): Promise<{ late: number }> {
    const envelopes = Array.from({ length: orders }, (_, i) => `e-${start}-${Math.random()}-${i}`);
    await env.redis.client.rpush(env.redis.keys.queue, ...envelopes);
    const claimed = await scripts.claimBatch(p1, 'next', orders);
    return scripts.commitBatch(p1, commit(claimed, [[start, orders, { orders }]]), RULES);
  }

  it('closes a window exactly at its end plus the grace, not a millisecond before', async () => {
    await scripts.acquireLease(p1);
    const start = now - 2 * W;
    await countInto(start, 1);
    const rules = { ...RULES, graceMs: 3_000 };
    const closesAt = start + W + rules.graceMs;
    expect((await scripts.tick(closesAt - 1, rules)).closed).toBe(0);
    expect(await env.redis.client.hget(env.redis.keys.window(start), 'final')).toBeNull();
    expect((await scripts.tick(closesAt, rules)).closed).toBe(1);
    expect(await env.redis.client.hget(env.redis.keys.window(start), 'final')).toBe('1');
  });

  it('closes due windows, publishes changes once, and counts late orders into a closed window as revisions', async () => {
    const oldStart = now - 3 * W;
    const openStart = now - W;
    await scripts.acquireLease(p1);
    await countInto(oldStart, 3);
    await countInto(openStart, 1);

    const first = await scripts.tick(now, RULES);
    expect(first.closed).toBe(1);
    expect(first.changed.map((c) => c.start).sort()).toEqual([oldStart, openStart]);
    expect(await env.redis.client.hget(env.redis.keys.window(oldStart), 'final')).toBe('1');
    expect(await env.redis.client.hget(env.redis.keys.window(openStart), 'final')).toBeNull();
    expect(await scripts.tick(now, RULES)).toEqual({ closed: 0, changed: [] });

    expect(await countInto(oldStart, 2)).toEqual({ late: 2, trimmed: 0 });
    expect(await env.redis.client.hgetall(env.redis.keys.window(oldStart))).toEqual({ orders: '5', final: '1', late: '2' });
    expect(await env.redis.client.zrange(env.redis.keys.open, '0', '-1')).toEqual([String(openStart)]);
    expect(await scripts.tick(now, RULES)).toEqual({ closed: 0, changed: [{ start: oldStart, fields: ['orders', '5', 'final', '1', 'late', '2'] }] });
    const events = await env.redis.client.xrange(env.redis.keys.changes, '-', '+');
    expect(events.map(([, fields]) => fields)).toEqual([
      ['start', String(oldStart), 'kind', 'final'],
      ['start', String(oldStart), 'kind', 'revised'],
    ]);
  });
});

describe('every script checks its arguments before its first write', () => {
  const start = Math.floor(Date.now() / W) * W;
  const good = () => ({ orders: 1, fields: new Map([['orders', 1]]) });

  /** Calls that a script must refuse, as a buggy caller would send them. */
  const hostile: [string, (s: Scripts) => Promise<unknown>][] = [
    ['a window start past the year 33658', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[1e20, good()]]) }, RULES)],
    ['a negative window start', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[-W, good()]]) }, RULES)],
    ['a fractional window start', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start + 0.5, good()]]) }, RULES)],
    ['a window start off the window grid', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start + 1, good()]]) }, RULES)],
    ['a window after a good one, with a NaN increment', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, good()], [start + W, { orders: 1, fields: new Map([['orders', Number.NaN]]) }]]) }, RULES)],
    ['a negative increment', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, { orders: 1, fields: new Map([['orders', -1]]) }]]) }, RULES)],
    ['an empty field name', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, { orders: 1, fields: new Map([['', 1]]) }]]) }, RULES)],
    ['a window with no fields', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, { orders: 1, fields: new Map() }]]) }, RULES)],
    ['more orders than envelopes', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [deadOf('e1')], windows: new Map([[start, { orders: 2, fields: new Map([['orders', 2]]) }]]) }, RULES)],
    ['a dead letter whose reason has a colon', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [deadOf('e1', 'bad:reason')], windows: new Map() }, RULES)],
    ['a dead letter made before 1970', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [{ ...deadOf('e1'), at: -1 }], windows: new Map() }, RULES)],
    ['a dead letter cap of 0', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [deadOf('e1')], windows: new Map() }, RULES, 0)],
    ['a replay to the middle of the queue', (s) => s.replayDeadLetters([1], 'middle' as 'head')],
    ['a replay of no dead letters', (s) => s.replayDeadLetters([], 'tail')],
    ['a replay of dead letter 0', (s) => s.replayDeadLetters([0], 'tail')],
    ['a replay of 5,001 dead letters', (s) => s.replayDeadLetters(Array.from({ length: 5001 }, (_, i) => i + 1), 'tail')],
    ['a purge with a cutoff before 1970', (s) => s.purgeDeadLetters([1], -1)],
    ['a purge of a fractional number', (s) => s.purgeDeadLetters([1.5], Date.now())],
    ['a migration of 0 letters', (s) => s.migrateDeadLetters(0, 10, Date.now())],
    ['a migration with a cap of 0', (s) => s.migrateDeadLetters(10, 0, Date.now())],
    ['an empty batch', (s) => s.commitBatch(p1, { envelopes: [], dead: [], windows: new Map([[start, good()]]) }, RULES)],
    ['a zero window size', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, good()]]) }, { ...RULES, windowMs: 0 })],
    ['an infinite retention', (s) => s.commitBatch(p1, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, good()]]) }, { ...RULES, retentionMs: Number.POSITIVE_INFINITY })],
    ['a fractional lease time on commit', (s) => s.commitBatch({ ...p1, leaseMs: 1.5 }, { envelopes: bytes('e1', 'e2'), dead: [], windows: new Map([[start, good()]]) }, RULES)],
    ['a zero lease time', (s) => s.acquireLease({ ...p1, leaseMs: 0 })],
    ['an empty token', (s) => s.acquireLease({ ...p1, token: '' })],
    ['an empty consumer name', (s) => s.acquireLease({ ...p1, consumer: '' })],
    ['a negative claim size', (s) => s.claimBatch(p1, 'next', -1)],
    ['a claim size of 1e9', (s) => s.claimBatch(p1, 'next', 1e9)],
    ['an unknown claim mode', (s) => s.claimBatch(p1, 'all' as 'next', 1)],
    ['a malformed read position', (s) => s.pushBatch({ fileKey: 'f1', expected: '0:0', next: '1e3', envelopes: new EnvelopeBatch(8).encoded() })],
    ['a malformed read position, with envelopes already queued by the RPUSH', (s) => s.pushBatch({ fileKey: 'f1', expected: '0:0', next: '0:x', envelopes: twoEnvelopes() })],
    ['an empty file key, with envelopes already queued by the RPUSH', (s) => s.pushBatch({ fileKey: '', expected: '0:0', next: '0:5', envelopes: twoEnvelopes() })],
    ['a negative envelope count', (s) => s.pushBatch({ fileKey: 'f1', expected: '0:0', next: '0:5', envelopes: { count: -1, bulks: Buffer.alloc(0), first: undefined, last: undefined } })],
    ['an empty file key', (s) => s.initPosition('', '0:0')],
    ['a tick at a time before 1970', (s) => s.tick(-5, RULES)],
    ['a tick with a fractional grace', (s) => s.tick(start, { ...RULES, graceMs: 0.5 })],
  ];

  it.each(hostile)('refuses %s and writes nothing, in the script and in the client', async (_, call) => {
    await env.redis.client.rpush(env.redis.keys.queue, 'e1', 'e2', 'e3');
    await env.redis.client.hset(env.redis.keys.offsets, 'f1', '0:0');
    // A dead letter to replay or purge, one of the earlier format to migrate.
    const letter = deadLetterOf(Buffer.from(`{"v":2,"host":"h","source":"s","id":"f:1","ingestedAt":${Date.now()}}\n{}`), 'x', 'm', 1000, { v: 2, host: 'h', source: 's', id: 'f:1', ingestedAt: Date.now(), line: '{}' });
    await env.redis.client.hset(env.redis.keys.deadLetters, '1', letter.record);
    await env.redis.client.zadd(env.redis.keys.deadIndex, 1000, '0000000000000001:x');
    await env.redis.client.rpush(env.redis.keys.legacyDead, '{"reason":"x","line":"y","at":1000}');
    await scripts.acquireLease(p1);
    await scripts.claimBatch(p1, 'next', 2);
    const before = await snapshot();
    for (const s of [unchecked, scripts]) {
      await expect(call(s)).rejects.toBeInstanceOf(ScriptArgumentError);
      expect(await snapshot()).toEqual(before);
    }
  });

  it('tells a refusal by the script from one by the client', async () => {
    const call = (s: Scripts) => s.claimBatch(p1, 'next', 0);
    await expect(call(scripts)).rejects.toThrow(/script claimBatch refused its arguments: claim size 0/);
    await expect(call(unchecked)).rejects.toThrow(/script claimBatch refused its arguments: claim size must be from 1 to 1000000, got 0/);
  });
});
