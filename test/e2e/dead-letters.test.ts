/**
 * `crema dead` as operators run it, a real process against a real Redis: what list, stats and
 * show print for bad lines of every kind, `show --raw` giving back the exact bytes, the catalog
 * fixed and the unknown orders replayed into their windows exactly once (also with two replays
 * racing and one killed with -9), purge by age, the cap, and letters of the earlier format.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { deadLetterOf } from '../../core/dead-letter.js';
import { EnvelopeFramer, parseEnvelope } from '../../core/envelope.js';
import { Scripts } from '../../core/scripts.js';
import { shardLayout } from '../../core/shards.js';
import { windowStart } from '../../core/windows.js';
import { CremaProcess, runCremaBytes } from '../support/crema-process.js';
import { deadLetterCount, storedDeadLetters } from '../support/dead-letters.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';

const W = 10_000;
const env = useTestEnvironment();

/** `crema dead …` on the test's Redis and prefix. */
const dead = (...args: string[]) => runCremaBytes('dead', [...args, '--redis-url', env.redis.url, '--prefix', env.redis.prefix]);

/** A real process, killed after the test whatever happens. */
function crema(command: string, flags: string[]): CremaProcess {
  const p = new CremaProcess(command, [...flags, '--redis-url', env.redis.url, '--prefix', env.redis.prefix]);
  env.onCleanup(() => p.kill9());
  return p;
}

/** Frames lines (bytes) as the collector would, from byte offset 0 on, and queues them. */
async function enqueue(lines: readonly Buffer[], ingestedAt = Date.now()): Promise<Buffer[]> {
  const framer = new EnvelopeFramer('shop-1', '/data/orders.jsonl', 'f.0');
  const envelopes = lines.map((line, i) => Buffer.concat([Buffer.from(framer.header(i * 1000, ingestedAt)), line]));
  for (let i = 0; i < envelopes.length; i += 1000) await env.redis.client.rpush(env.redis.keys.queue, ...envelopes.slice(i, i + 1000));
  return envelopes;
}

async function drained(): Promise<void> {
  await eventually(async () => (await env.redis.client.llen(env.redis.keys.queue)) === 0 && (await env.redis.client.keys(`${env.redis.prefix}processing:*`)).length === 0, {
    timeoutMs: 30_000,
    message: async () => `queue not drained: ${await env.redis.client.llen(env.redis.keys.queue)} left`,
  });
}

/** Every window's counts equal those of `lines` (valid lines with orderedAt). */
async function expectWindows(lines: readonly string[]): Promise<void> {
  const expected = expectedWindows(lines, W);
  const starts = (await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')).map(Number).sort();
  expect(starts).toEqual([...expected.keys()].sort());
  for (const [start, window] of expected) expect(countsOnly(await env.redis.client.hgetall(env.redis.keys.window(start))), `window ${start}`).toEqual(expectedHash(window));
}

/** Orders counted over every window. */
async function totalOrders(): Promise<number> {
  let total = 0;
  for (const start of await env.redis.client.zrange(env.redis.keys.windows, '0', '-1')) total += Number((await env.redis.client.hget(env.redis.keys.window(Number(start)), 'orders')) ?? 0);
  return total;
}

const order = (coffee: string, orderedAt: number) => JSON.stringify({ customerAgeGrade: '1020', paymentMethod: 'Cash', orders: ['Espresso', coffee], orderedAt });

describe('crema dead', () => {
  it('lists, counts and shows bad lines of every kind, escaped, and gives back their exact bytes', async () => {
    const now = Date.now();
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x1a, 0x00, 0xc3, 0x28, 0x7b]);
    const bad: [Buffer, string][] = [
      // A terminal escape (clear screen) as a raw byte.
      [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espre\u001b[2J'), 'invalid_json'],
      [binary, 'invalid_json'],
      [Buffer.from('{"customerAgeGrade":["1020"],"paymentMethod":"Cash","orders":["Espresso"]}'), 'wrong_type'],
      // Terminal escapes (JSON-escaped, so the message has them) and a right-to-left override inside a coffee name.
      [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Tea \\u001b[31mred\\u001b[0m \u202eevil"]}'), 'unknown_value'],
      [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":[]}'), 'empty_orders'],
      [Buffer.from('{"paymentMethod":"Cash","orders":["Espresso"]}'), 'missing_field'],
      [Buffer.from('[1,2]'), 'not_an_object'],
      [Buffer.from(''), 'empty_line'],
      [Buffer.from(`{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":${JSON.stringify(Array(101).fill('Espresso'))}}`), 'too_many_drinks'],
      [Buffer.from('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":"yesterday"}'), 'invalid_ordered_at'],
      // Not UTF-8, but a JSON object once decoded (each byte becomes U+FFFD): the letter keeps the bytes.
      [Buffer.concat([Buffer.from('{"pad":"'), Buffer.alloc(5000, 0xe9), Buffer.from('"}')]), 'missing_field'],
    ];
    const envelopes = await enqueue(bad.map(([line]) => line), now);
    await env.redis.client.rpush(env.redis.keys.queue, Buffer.from([0xde, 0xad, 0x0a, 0xbe, 0xef]));
    env.startProcessor();
    await drained();
    const stored = await storedDeadLetters(env.redis.client, env.redis.keys);
    expect(stored.map((d) => d.reason)).toEqual([...bad.map(([, reason]) => reason), 'invalid_envelope']);

    const list = await dead();
    expect(list.code, list.stderr).toBe(0);
    expect(list.out).toMatch(/^NUMBER\s+MADE \(UTC\)\s+REASON\s+SOURCE\s+REPLAYS\s+LINE$/m);
    for (const d of stored) expect(list.out).toMatch(new RegExp(`^\\s*${d.id}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ${d.reason}\\b`, 'm'));
    expect(list.out).toContain('\\x00\\xff\\xfe\\x89PNG\\r\\x1a\\x00\\xc3({');
    expect(list.out).toMatch(/^invalid_json\s+2$/m);
    expect(list.out).toMatch(/^missing_field\s+2$/m);
    expect(list.out).toMatch(/^invalid_envelope\s+1$/m);
    expect(list.out).toContain(`the newest 12 of 12 matching, 12 in ${env.redis.keys.deadLetters}`);
    // Nothing from the data reaches the terminal as a control character.
    expect(list.stdout.includes(0x1b)).toBe(false);
    expect(list.out).not.toContain('\u202e');

    const one = await dead('list', '--reason', 'unknown_value', '--limit', '1');
    expect(one.out.split('\n').filter((l) => /^\s+\d+  \d{4}-/.test(l))).toHaveLength(1);
    expect(one.out).toMatch(/^\s+4  /m);
    const escaped = await dead('show', '4');
    expect(escaped.out).toContain('Tea \\\\u001b[31mred\\\\u001b[0m \\u202eevil');
    // The message quotes the name as JSON (the escape stays escaped); the override is shown as \u202e.
    expect(escaped.out).toMatch(/^message\s+orders\[0\] "Tea \\\\u001b\[31mred\\\\u001b\[0m \\u202eevil" is not in the catalog$/m);
    expect(escaped.stdout.includes(0x1b)).toBe(false);
    const clear = await dead('show', '1');
    expect(clear.out).toContain('"orders":["Espre\\x1b[2J');
    expect(clear.stdout.includes(0x1b)).toBe(false);

    const stats = await dead('stats');
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.out).toContain(`12 dead letters in ${env.redis.keys.deadLetters}`);
    expect(stats.out).toMatch(/^unknown_value\s+1$/m);
    expect(stats.out).toMatch(new RegExp(`^${new Date(stored[0]!.at).toISOString().slice(0, 13)}:00Z\\s+12$`, 'm'));
    expect(stats.out).toContain('0 replayed, 0 purged, 0 dropped at the cap');

    const shown = await dead('show', '2');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.out).toMatch(/^reason\s+invalid_json$/m);
    expect(shown.out).toMatch(/^line\s+13 bytes, not UTF-8/m);
    expect(shown.out).toContain('id f.0:1000, source /data/orders.jsonl, host shop-1');
    expect(shown.out).toMatch(/^replay\s+possible: crema dead replay 2$/m);
    expect(shown.out.trimEnd().endsWith('\\x00\\xff\\xfe\\x89PNG\\r\\x1a\\x00\\xc3({')).toBe(true);
    const cut = await dead('show', '11');
    expect(cut.out).toMatch(/^line\s+5,010 bytes, the first 4,096 kept/m);
    expect(cut.out).toMatch(/^replay\s+not possible: only the first 4096 bytes/m);
    const garbage = await dead('show', '12');
    expect(garbage.out).toMatch(/^envelope\s+none: the queue element is not a Crema envelope/m);

    // --raw: the line's bytes exactly as read (its first 4 KiB when longer), nothing added.
    const raws = await Promise.all(stored.map((d) => dead('show', String(d.id), '--raw')));
    expect(raws[10]!.stderr).toContain('dead letter 11 kept only the first 4,096 of the line\'s 5,010 bytes');
    raws.forEach((raw, i) => {
      expect(raw.code, raw.stderr).toBe(0);
      const want = i < bad.length ? bad[i]![0].subarray(0, 4096) : Buffer.from([0xde, 0xad, 0x0a, 0xbe, 0xef]);
      expect(raw.stdout.toString('hex'), `dead letter ${i + 1}`).toBe(want.toString('hex'));
    });
    expect(stored[1]!.element).toEqual(envelopes[1]);

    const missing = await dead('show', '99');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no dead letter 99 in ${env.redis.keys.deadLetters}`);
    const wrong = await dead('show', '2', '--older-than', '1d');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--older-than is not a flag of crema dead show');
  });

  it('after the catalog is fixed, replays the unknown orders into their windows exactly once; still bad ones come back with a replay count', async () => {
    const { redis: t, dir } = env;
    const first = windowStart(Date.now(), W) - 4 * W;
    const good = orderLines(2000, { seed: 41, firstStart: first, windows: 4, windowMs: W });
    const fixable = Array.from({ length: 150 }, (_, i) => order('Frappuccino', first + ((i * 997) % (4 * W))));
    const stillUnknown = Array.from({ length: 7 }, (_, i) => order('Tea', first + i));
    const broken = ['{"customerAgeGrade":"1020"', '{{'];
    const lines = [...good];
    [...fixable, ...stillUnknown, ...broken].forEach((line, i) => lines.splice((i * 13) % lines.length, 0, line));
    const file = dir.file('orders.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const collector = crema('collect', ['--file', file]);
    let processor = crema('process', ['--consumer', 'p1', '--tick-ms', '200']);
    await eventually(async () => (await deadLetterCount(t.client, t.keys)) === fixable.length + stillUnknown.length + broken.length, {
      timeoutMs: 30_000,
      message: async () => `dead letters: ${await deadLetterCount(t.client, t.keys)}`,
    });
    await eventually(async () => (await totalOrders()) === good.length, { timeoutMs: 30_000, message: async () => `orders counted: ${await totalOrders()} of ${good.length}` });
    await drained();
    await expectWindows(good);
    await collector.terminate();

    // Fix the catalog: it is shared, so stop the processors, delete the stored settings, start them with the new file.
    expect((await processor.terminate()).code).toBe(0);
    const catalogFile = dir.file('catalog.json');
    writeFileSync(catalogFile, JSON.stringify({ ...DEFAULT_CATALOG, coffeeTypes: [...DEFAULT_CATALOG.coffeeTypes, 'Frappuccino'] }));
    await t.client.del(t.keys.settings);
    processor = crema('process', ['--consumer', 'p1', '--tick-ms', '200', '--catalog-file', catalogFile]);
    await processor.waitForLog('lease taken');

    const dry = await dead('replay', '--reason', 'unknown_value', '--dry-run');
    expect(dry.out).toContain(`would replay ${fixable.length + stillUnknown.length} dead letters to the tail of ${t.keys.queue}: unknown_value ${fixable.length + stillUnknown.length}`);
    expect(await deadLetterCount(t.client, t.keys)).toBe(fixable.length + stillUnknown.length + broken.length);

    const replay = await dead('replay', '--reason', 'unknown_value');
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.out).toContain(`replayed ${fixable.length + stillUnknown.length} dead letters`);
    await eventually(async () => (await deadLetterCount(t.client, t.keys)) === stillUnknown.length + broken.length, { timeoutMs: 15_000, message: 'the replayed letters did not come back or leave' });
    await drained();
    await expectWindows([...good, ...fixable]);
    const left = await storedDeadLetters(t.client, t.keys);
    expect(left.filter((d) => d.reason === 'unknown_value').map((d) => [d.replays, d.line.toString()]).sort()).toEqual(stillUnknown.map((l) => [1, l]).sort());
    expect(left.filter((d) => d.reason === 'invalid_json').map((d) => d.replays)).toEqual([0, 0]);

    // Replaying again moves only what is left: the orders counted stay counted once.
    const again = await dead('replay', '--reason', 'unknown_value');
    expect(again.out).toContain(`replayed ${stillUnknown.length} dead letters`);
    await eventually(async () => (await storedDeadLetters(t.client, t.keys)).filter((d) => d.replays === 2).length === stillUnknown.length, { timeoutMs: 15_000, message: 'no second replay count' });
    await drained();
    await expectWindows([...good, ...fixable]);
    expect((await processor.terminate()).code).toBe(0);
  });

  it('replays each letter exactly once with two replays racing, and after one is killed with -9 mid-way', async () => {
    const { redis: t } = env;
    const N = 2000;
    const first = windowStart(Date.now(), W) - 2 * W;
    const lines = Array.from({ length: N }, (_, i) => order('Frappuccino', first + ((i * 7919) % (2 * W))));
    await enqueue(lines.map((l) => Buffer.from(l)));
    let processor = env.startProcessor();
    await drained();
    await env.stop(processor);
    expect(await deadLetterCount(t.client, t.keys)).toBe(N);

    /** Queue and store together hold every line exactly once. */
    const expectEachOnce = async () => {
      const queued = (await t.client.lrange(t.keys.queue, 0, -1)).map((e) => parseEnvelope(e)!.id);
      const stored = (await storedDeadLetters(t.client, t.keys)).map((d) => d.envelopeHeader!.id);
      const all = [...queued, ...stored];
      expect(all.length, `${queued.length} queued and ${stored.length} stored`).toBe(N);
      expect(new Set(all).size).toBe(N);
      return { queued: queued.length, stored: stored.length };
    };

    // Two replays of the same letters at once, one letter per script call: the most chances to collide.
    const racing = await Promise.all([dead('replay', '--all', '--batch', '1'), dead('replay', '--reason', 'unknown_value', '--batch', '1', '--to', 'head')]);
    for (const r of racing) expect(r.code, r.stderr).toBe(0);
    const counts = racing.map((r) => Number(/replayed ([\d,]+)/.exec(r.out)![1]!.replaceAll(',', '')));
    expect(counts[0]! + counts[1]!).toBe(N);
    expect(await expectEachOnce()).toEqual({ queued: N, stored: 0 });
    expect(await t.client.hget(t.keys.deadCounters, 'replayed')).toBe(String(N));

    // Back to the store (still unknown), then a replay killed with -9 while it works.
    processor = env.startProcessor();
    await drained();
    await env.stop(processor);
    expect(await deadLetterCount(t.client, t.keys)).toBe(N);
    const killed = crema('dead', ['replay', '--all', '--batch', '1']);
    await eventually(async () => (await deadLetterCount(t.client, t.keys)) < N - 100, { timeoutMs: 15_000, intervalMs: 5, message: 'the replay did not start' });
    await killed.kill9();
    const atKill = await expectEachOnce();
    expect(atKill.stored, 'the replay was killed before it finished').toBeGreaterThan(0);
    const rest = await dead('replay', '--all');
    expect(rest.out).toContain(`replayed ${atKill.stored.toLocaleString('en')} dead letter`);
    expect(await expectEachOnce()).toEqual({ queued: N, stored: 0 });

    // With the catalog fixed, every replayed order is counted once in its window.
    env.startProcessor({ catalog: { ...DEFAULT_CATALOG, coffeeTypes: [...DEFAULT_CATALOG.coffeeTypes, 'Frappuccino'] } });
    await drained();
    await expectWindows(lines);
    expect(await deadLetterCount(t.client, t.keys)).toBe(0);
  });

  it('purges by age (and reason), never a letter younger than the cutoff', async () => {
    const { redis: t } = env;
    const scripts = new Scripts(await t.connected(), t.keys);
    const now = Date.now();
    const made = [
      [now - 3 * 3_600_000, 'invalid_json'],
      [now - 2 * 3_600_000, 'unknown_value'],
      [now - 2 * 3_600_000, 'invalid_json'],
      [now - 10 * 60_000, 'invalid_json'],
    ] as const;
    // As processors (with their clocks) made them at those times.
    await t.client.rpush(t.keys.queue, ...made.map((_, i) => `e${i}`));
    const hold = { consumer: 'p', token: 't', leaseMs: 10_000 };
    await scripts.acquireLease(hold);
    const claimed = await scripts.claimBatch(hold, 'next', made.length);
    const entries = made.map(([at, reason], i) => deadLetterOf(Buffer.from(`e${i}`), reason, 'm', at));
    await scripts.commitBatch(hold, { envelopes: claimed, dead: entries, windows: new Map() }, { windowMs: W, graceMs: W, retentionMs: 86_400_000 });

    const dry = await dead('purge', '--older-than', '1h', '--dry-run');
    expect(dry.out).toMatch(/^would delete 3 dead letters made before \S+ \(older than 1 h\): invalid_json 2, unknown_value 1$/m);
    expect(await deadLetterCount(t.client, t.keys)).toBe(4);
    const byReason = await dead('purge', '--older-than', '1h', '--reason', 'unknown_value');
    expect(byReason.out).toContain('deleted 1 dead letter made before');
    const purge = await dead('purge', '--older-than', '150m');
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.out).toContain('deleted 1 dead letter made before');
    expect((await storedDeadLetters(t.client, t.keys)).map((d) => d.id)).toEqual([3, 4]);
    expect((await dead('stats')).out).toContain('2 purged');
  });

  it('keeps at most CREMA_DEAD_MAX letters: a real processor drops the oldest, logs it once, and stats says how many', async () => {
    const { redis: t } = env;
    await enqueue(Array.from({ length: 12 }, (_, i) => Buffer.from(`{"bad":${i}`)));
    const processor = crema('process', ['--consumer', 'p1', '--dead-max', '5', '--process-batch', '3']);
    await drained();
    expect((await storedDeadLetters(t.client, t.keys)).map((d) => d.line.toString())).toEqual(Array.from({ length: 5 }, (_, i) => `{"bad":${i + 7}`));
    expect((await processor.terminate()).code).toBe(0);
    expect(processor.logs.split('the dead-letter store is full').length - 1).toBe(1);
    const stats = await dead('stats');
    expect(stats.out).toContain(`5 dead letters in ${t.keys.deadLetters}`);
    expect(stats.out).toContain('7 dropped at the cap');
  });

  it('moves dead letters of the earlier format into the store when told to, and says they cannot be replayed', async () => {
    const { redis: t } = env;
    const old = { reason: 'unknown_value', message: 'orders[0] "Tea" is not in the catalog', id: 'f.0:7', source: '/data/orders.jsonl', host: 'shop-1', line: '{"orders":["Tea"]}', truncated: false, at: Date.now() - 60_000 };
    await t.client.rpush(t.keys.legacyDead, JSON.stringify(old), JSON.stringify({ ...old, id: 'f.0:9' }));
    const before = await dead('list');
    expect(before.out).toContain(`2 dead letters of the earlier format wait in ${t.keys.legacyDead}; crema dead migrate moves them here`);
    const migrate = await dead('migrate');
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.out).toContain(`moved 2 dead letters of the earlier format from ${t.keys.legacyDead} into ${t.keys.deadLetters}`);
    const shown = await dead('show', '1');
    expect(shown.out).toMatch(/^envelope\s+not kept \(stored by an earlier version\): id f.0:7, source \/data\/orders.jsonl, host shop-1$/m);
    expect(shown.out).toMatch(/^replay\s+not possible: stored by an earlier version/m);
    const replay = await dead('replay', '1');
    expect(replay.code).toBe(1);
    expect(replay.out).toContain('kept 1 (stored by an earlier version, without its envelope): 1');
    expect((await dead('migrate')).out).toContain('no dead letters of the earlier format');
  });

  it('works on one shard of several, named with --shard, whose dead letters are kept apart', async () => {
    const shards = shardLayout(env.redis.prefix, 3, false).shards;
    await env.redis.client.hset(env.redis.keys.settings, 'shards', '3');
    // A dead letter in shard 1's store, as its processor's commit writes it.
    const framer = new EnvelopeFramer('shop-1', '/data/orders.jsonl', 'f.0');
    const envelope = Buffer.concat([Buffer.from(framer.header(0, Date.now())), Buffer.from('{not json')]);
    await env.redis.client.rpush(shards[1]!.queue, envelope);
    const processor = crema('process', ['--shards', '3', '--consumer', 'p-shards']);
    await eventually(async () => (await env.redis.client.zcard(shards[1]!.deadIndex)) === 1, { message: 'the dead letter was not stored in shard 1' });
    await processor.terminate();

    const unnamed = await dead('stats');
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain('this prefix has 3 shards, each with its own dead letters; choose one with --shard (0…2)');
    expect((await dead('stats', '--shard', '3')).code).toBe(2);
    const other = await dead('list', '--shard', '0');
    expect(other.code).toBe(0);
    expect(other.out).not.toContain('invalid_json');
    const mine = await dead('list', '--shard', '1');
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.out).toContain('invalid_json');
  });
});

