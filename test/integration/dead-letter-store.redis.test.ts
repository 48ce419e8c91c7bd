/**
 * The dead-letter store's scripts through the typed layer, against a real Redis: replay exactly
 * once (also when many replays of the same letters race), purge only what is older than the
 * cutoff, the cap, the migration of the earlier format, and reading the index page by page.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { type DeadLetterEntry, deadLetterOf } from '../../core/dead-letter.js';
import { EnvelopeFramer, parseEnvelope } from '../../core/envelope.js';
import { type LeaseHold, Scripts } from '../../core/scripts.js';
import { DeadLetterStore } from '../../dead/store.js';
import { storedDeadLetters } from '../support/dead-letters.js';
import { useTestEnvironment } from '../support/fixtures.js';

const env = useTestEnvironment();
const p1: LeaseHold = { consumer: 'p1', token: 'tok1', leaseMs: 10_000 };
const RULES = { windowMs: 10_000, graceMs: 10_000, retentionMs: 86_400_000 };
const framer = new EnvelopeFramer('h', '/orders.log', 'f.0');
let redis: Redis;
let scripts: Scripts;
beforeEach(async () => {
  redis = await env.redis.connected();
  scripts = new Scripts(redis, env.redis.keys);
});

/** The dead letter of an envelope whose line is `line`, made at `at`. */
function letterOf(offset: number, line: string | Buffer, at: number, reason = 'unknown_value', ingestedAt = Date.now()): { entry: DeadLetterEntry; envelope: Buffer } {
  const envelope = Buffer.concat([Buffer.from(framer.header(offset, ingestedAt)), Buffer.isBuffer(line) ? line : Buffer.from(line)]);
  return { entry: deadLetterOf(envelope, reason, 'm', at, parseEnvelope(envelope.toString())), envelope };
}

/** Stores dead letters as a processor's commit does: claims one envelope per letter and commits them as dead. */
async function store(entries: DeadLetterEntry[], max?: number): Promise<{ trimmed: number }> {
  await env.redis.client.rpush(env.redis.keys.queue, ...entries.map((_, i) => `e${i}`));
  await scripts.acquireLease(p1);
  const claimed = await scripts.claimBatch(p1, 'next', entries.length);
  return scripts.commitBatch(p1, { envelopes: claimed, dead: entries, windows: new Map() }, RULES, max);
}

describe('replay-dead-letters', () => {
  it('puts each envelope back once, with its replay count, and removes the letter; gone and unreplayable ones are reported', async () => {
    const now = Date.now();
    const binary = Buffer.from([0x7b, 0xff, 0x00, 0x0a, 0xc3]);
    const a = letterOf(0, '{"orders":["Tea"]}', now);
    const b = letterOf(100, binary, now, 'invalid_json');
    const garbage = deadLetterOf(Buffer.from('not an envelope'), 'invalid_envelope', 'm', now);
    const cut = letterOf(200, 'x'.repeat(5000), now, 'invalid_json');
    await store([a.entry, b.entry, garbage, cut.entry]);

    const result = await scripts.replayDeadLetters([1, 2, 3, 4, 99], 'tail');
    expect(result).toEqual({ done: [1, 2], gone: [99], kept: [3, 4] });
    const queued = await env.redis.client.lrangeBuffer(env.redis.keys.queue, 0, -1);
    const withCount = (envelope: Buffer, n: number) => {
      const newline = envelope.indexOf(10);
      return Buffer.concat([envelope.subarray(0, newline - 1), Buffer.from(`,"replays":${n}}`), envelope.subarray(newline)]);
    };
    expect(queued).toEqual([withCount(a.envelope, 1), withCount(b.envelope, 1)]);
    expect(parseEnvelope(queued[0]!.toString())).toMatchObject({ id: 'f.0:0', ingestedAt: parseEnvelope(a.envelope.toString())!.ingestedAt, replays: 1 });
    expect((await storedDeadLetters(env.redis.client, env.redis.keys)).map((d) => d.id)).toEqual([3, 4]);
    expect(await env.redis.client.zrange(env.redis.keys.deadIndex, '0', '-1')).toEqual(['0000000000000003:invalid_envelope', '0000000000000004:invalid_json']);
    expect(await env.redis.client.hget(env.redis.keys.deadCounters, 'replayed')).toBe('2');
    // A second replay of the same letters replays nothing.
    expect(await scripts.replayDeadLetters([1, 2], 'tail')).toEqual({ done: [], gone: [1, 2], kept: [] });
    expect(await env.redis.client.llen(env.redis.keys.queue)).toBe(2);
  });

  it('replaces the replay count of an envelope replayed before, and puts a batch at the head in its order', async () => {
    const now = Date.now();
    const once = Buffer.from(`{"v":2,"host":"h","source":"s","id":"f:1","ingestedAt":${now},"replays":1}\n{"x":1}`);
    const entry = deadLetterOf(once, 'unknown_value', 'm', now, parseEnvelope(once.toString()));
    const other = letterOf(5, '{"y":2}', now);
    await store([entry, other.entry]);
    await env.redis.client.rpush(env.redis.keys.queue, 'live');
    expect((await scripts.replayDeadLetters([1, 2], 'head')).done).toEqual([1, 2]);
    const queued = await env.redis.client.lrange(env.redis.keys.queue, 0, -1);
    expect(queued[0]).toBe(`{"v":2,"host":"h","source":"s","id":"f:1","ingestedAt":${now},"replays":2}\n{"x":1}`);
    expect(parseEnvelope(queued[1]!)).toMatchObject({ id: 'f.0:5', replays: 1 });
    expect(queued[2]).toBe('live');
  });

  it('replays each letter exactly once when many replays of the same letters race', async () => {
    const now = Date.now();
    const entries = Array.from({ length: 600 }, (_, i) => letterOf(i, `{"n":${i}}`, now).entry);
    await store(entries);
    const ids = entries.map((_, i) => i + 1);
    // Eight clients on their own connections, each replaying every letter in batches of 7, in different orders.
    const clients = await Promise.all(Array.from({ length: 8 }, (_, c) => env.redis.connected(`replay-${c}`)));
    const results = await Promise.all(
      clients.map(async (client, c) => {
        const mine = new Scripts(client, env.redis.keys);
        const order = c % 2 === 0 ? ids : [...ids].reverse();
        const done: number[] = [];
        for (let i = 0; i < order.length; i += 7) done.push(...(await mine.replayDeadLetters(order.slice(i, i + 7), 'tail')).done);
        return done;
      }),
    );
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(ids);
    const queued = (await env.redis.client.lrange(env.redis.keys.queue, 0, -1)).map((e) => parseEnvelope(e)!.id);
    expect(queued.length).toBe(600);
    expect(new Set(queued).size).toBe(600);
    expect(await env.redis.client.hlen(env.redis.keys.deadLetters)).toBe(0);
    expect(await env.redis.client.zcard(env.redis.keys.deadIndex)).toBe(0);
  });
});

describe('purge-dead-letters', () => {
  it('deletes only the given letters made before the cutoff', async () => {
    const t = Date.now() - 3_600_000;
    await store([letterOf(0, 'a', t).entry, letterOf(1, 'b', t + 1000).entry, letterOf(2, 'c', t + 2000).entry]);
    expect(await scripts.purgeDeadLetters([1, 2, 3, 4], t + 1000)).toEqual({ done: [1], gone: [4], kept: [2, 3] });
    expect(await env.redis.client.zrange(env.redis.keys.deadIndex, '0', '-1')).toEqual(['0000000000000002:unknown_value', '0000000000000003:unknown_value']);
    expect((await env.redis.client.hkeys(env.redis.keys.deadLetters)).sort()).toEqual(['2', '3']);
    expect(await env.redis.client.hget(env.redis.keys.deadCounters, 'purged')).toBe('1');
  });
});

describe('the cap', () => {
  it('drops the oldest letters beyond it, with their records, and counts them', async () => {
    const t = Date.now();
    // Made out of number order: the cap drops by time.
    const times = [t + 5, t + 1, t + 3, t + 2, t + 4];
    expect(await store(times.map((at, i) => letterOf(i, `l${i}`, at).entry), 3)).toEqual({ late: 0, trimmed: 2 });
    expect(await env.redis.client.zrange(env.redis.keys.deadIndex, '0', '-1')).toEqual(['0000000000000003:unknown_value', '0000000000000005:unknown_value', '0000000000000001:unknown_value']);
    expect((await env.redis.client.hkeys(env.redis.keys.deadLetters)).sort()).toEqual(['1', '3', '5']);
    expect(await env.redis.client.hget(env.redis.keys.deadCounters, 'trimmed')).toBe('2');
  });
});

describe('the cap, letters of one millisecond', () => {
  it('drops them by number, oldest first (a whole batch has one time)', async () => {
    const t = Date.now();
    await store(Array.from({ length: 12 }, (_, i) => letterOf(i, `l${i}`, t).entry), 5);
    expect((await storedDeadLetters(env.redis.client, env.redis.keys)).map((d) => d.id)).toEqual([8, 9, 10, 11, 12]);
    const newest: number[] = [];
    for await (const page of new DeadLetterStore(env.redis.client, env.redis.keys).entries({}, 'newest')) newest.push(...page.map((e) => e.id));
    expect(newest).toEqual([12, 11, 10, 9, 8]);
  });
});

describe('migrate-dead-letters', () => {
  it('moves letters of the earlier format into the store, keeping reason, message, time and text, not replayable', async () => {
    const legacy = [
      { reason: 'unknown_value', message: 'orders[0] "Tea" is not in the catalog', id: 'f.0:7', source: '/o.log', host: 'h', line: '{"orders":["Tea"]}', truncated: false, at: 1_795_000_000_000 },
      { reason: 'line_too_long', message: 'long', id: 'f.0:9', source: '/o.log', host: 'h', line: 'x'.repeat(4096), truncated: true, at: 1_795_000_001_000 },
    ];
    await env.redis.client.rpush(env.redis.keys.legacyDead, ...legacy.map((l) => JSON.stringify(l)), 'not json', '{"reason":"has space","line":7}');
    const first = await scripts.migrateDeadLetters(3, 100, 1_795_000_002_000);
    expect(first).toEqual({ migrated: 3, trimmed: 0, remaining: 1 });
    expect(await scripts.migrateDeadLetters(1000, 100, 1_795_000_003_000)).toEqual({ migrated: 1, trimmed: 0, remaining: 0 });
    expect(await env.redis.client.exists(env.redis.keys.legacyDead)).toBe(0);
    const dead = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(dead.map((d) => [d.id, d.reason, d.at])).toEqual([
      [1, 'unknown_value', 1_795_000_000_000],
      [2, 'line_too_long', 1_795_000_001_000],
      [3, 'unknown', 1_795_000_002_000],
      [4, 'unknown', 1_795_000_003_000],
    ]);
    expect(dead[0]).toMatchObject({ message: legacy[0]!.message, line: Buffer.from(legacy[0]!.line), legacy: { id: 'f.0:7', source: '/o.log', host: 'h' }, envelope: false, truncated: false });
    expect(dead[1]).toMatchObject({ truncated: true });
    expect(dead[2]!.line.toString()).toBe('not json');
    expect(dead[3]!.line.toString()).toBe('');
    expect(await env.redis.client.hget(env.redis.keys.deadCounters, 'migrated')).toBe('4');
    // Not replayable: the earlier format kept neither the envelope nor the bytes.
    expect(await scripts.replayDeadLetters([1, 2, 3, 4], 'tail')).toEqual({ done: [], gone: [], kept: [1, 2, 3, 4] });
  });

  it('keeps to the cap', async () => {
    await env.redis.client.rpush(env.redis.keys.legacyDead, ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ reason: 'invalid_json', line: `l${i}`, at: 1_795_000_000_000 + i })));
    expect(await scripts.migrateDeadLetters(1000, 4, Date.now())).toEqual({ migrated: 10, trimmed: 6, remaining: 0 });
    expect((await storedDeadLetters(env.redis.client, env.redis.keys)).map((d) => d.line.toString())).toEqual(['l6', 'l7', 'l8', 'l9']);
  });
});

describe('reading the store', () => {
  it('pages through the index by time, oldest or newest first, letters of one millisecond included, filtered by reason and time', async () => {
    const t = 1_795_000_000_000;
    // 2,500 letters, 1,200 of them in the same millisecond: more than a page (1,000) share one score.
    const entries = Array.from({ length: 2500 }, (_, i) => letterOf(i, `l${i}`, i < 1200 ? t : t + i, i % 3 === 0 ? 'invalid_json' : 'unknown_value').entry);
    for (let i = 0; i < entries.length; i += 500) await store(entries.slice(i, i + 500));
    const reader = new DeadLetterStore(env.redis.client, env.redis.keys);
    const oldest = await reader.allEntries();
    expect(oldest.map((e) => e.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(oldest.map((e) => e.at)).toEqual([...oldest.map((e) => e.at)].sort((a, b) => a - b));
    const newest: number[] = [];
    for await (const page of reader.entries({}, 'newest')) newest.push(...page.map((e) => e.id));
    expect(newest.length).toBe(2500);
    expect(new Set(newest).size).toBe(2500);
    expect(newest[0]).toBe(2500);
    const json = await reader.allEntries({ reasons: ['invalid_json'], since: t + 1, until: t + 2000 });
    expect(json.map((e) => e.id)).toEqual(Array.from({ length: 2500 }, (_, i) => i).filter((i) => i % 3 === 0 && i >= 1200 && i < 2000).map((i) => i + 1));
    expect(await reader.size()).toBe(2500);
    expect((await reader.letters([1, 2500, 9999])).size).toBe(2);
  });
});
