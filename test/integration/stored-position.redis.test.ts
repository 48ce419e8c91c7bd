/**
 * A drained rotated file is closed only once its position is on every replica: after the close
 * nothing checks that position again, so a push that a failover undid would lose its lines.
 * Against a real master and replica; a replica that stops answering (SIGSTOP) holds the close back.
 */
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CatchUpLog } from '../../collector/catch-up-log.js';
import { ROTATED_LINGER_MS, SourceFollower } from '../../collector/source-follower.js';
import { positionReplicated } from '../../collector/stored-position.js';
import { RedisKeys } from '../../core/keys.js';
import { createMetrics } from '../../core/metrics.js';
import { Scripts, defineScripts } from '../../core/scripts.js';
import { eventually } from '../support/eventually.js';
import { rotate, tempDir } from '../support/files.js';
import { type LocalRedisServer, startLocalRedis, startLocalReplica } from '../support/servers.js';
import { silentLog } from '../support/stages.js';

let master: LocalRedisServer;
let replica: LocalRedisServer;
let alone: LocalRedisServer;
const clients: Redis[] = [];

function client(server: LocalRedisServer): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
}

beforeAll(async () => {
  master = await startLocalRedis({ persistent: false });
  replica = await startLocalReplica(master);
  alone = await startLocalRedis({ persistent: false });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  replica?.resume();
  for (const server of [replica, master, alone]) await server?.dispose();
});

const look = (pushed: string) => ({ offsetsKey: 'offsets', fileKey: 'file-1', pushed, path: '/var/log/orders.jsonl' });

it('holds a position as replicated once every replica has it, and a master without replicas at once', async () => {
  const redis = client(master);
  await redis.hset('offsets', 'file-1', '0:120');
  expect(await positionReplicated(redis, look('0:120'))).toBe(true);
  expect(await client(replica).hget('offsets', 'file-1')).toBe('0:120');

  const single = client(alone);
  await single.hset('offsets', 'file-1', '0:7');
  expect(await positionReplicated(single, look('0:7'))).toBe(true);
});

it('says not yet while a replica does not acknowledge, and yes once it does', async () => {
  const redis = client(master);
  await redis.hset('offsets', 'file-1', '0:240');
  replica.pause();
  try {
    const started = Date.now();
    expect(await positionReplicated(redis, look('0:240'), 300)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  } finally {
    replica.resume();
  }
  expect(await positionReplicated(redis, look('0:240'), 5000)).toBe(true);
});

it('throws position_lost when Redis holds another position than the one pushed', async () => {
  const redis = client(master);
  await redis.hset('offsets', 'file-1', '0:100');
  await expect(positionReplicated(redis, look('0:240'))).rejects.toMatchObject({ type: 'position_lost', message: expect.stringContaining('holds position 0:100 for file file-1 (/var/log/orders.jsonl), not 0:240') });
  await redis.hdel('offsets', 'file-1');
  await expect(positionReplicated(redis, look('0:240'))).rejects.toMatchObject({ type: 'position_lost', message: expect.stringContaining('holds position none') });
});

it('keeps a drained rotated file open while a replica lacks its position, and closes it once the replica has it', async () => {
  const dir = tempDir();
  const redis = client(master);
  defineScripts(redis);
  const keys = new RedisKeys('replicated:');
  const path = dir.file('orders.jsonl');
  writeFileSync(path, '{"n":1}\n{"n":2}\n');
  const follower = new SourceFollower(path, {
    redis,
    scripts: new Scripts(redis, keys),
    keys,
    host: 'h',
    maxLineBytes: 1024,
    log: silentLog,
    metrics: createMetrics('h'),
    catchUp: new CatchUpLog(silentLog),
  });
  const scripts = new Scripts(redis, keys);
  try {
    await follower.start('beginning');
    const [first] = follower.tails();
    const batch = (await first!.nextBatch(100, Date.now()))!;
    await scripts.pushBatch({ fileKey: first!.key, expected: batch.expected, next: batch.next, envelopes: batch.envelopes });
    first!.acknowledge(batch);
    expect(await first!.nextBatch(100, Date.now())).toBeUndefined(); // read to its end
    rotate(path);
    writeFileSync(path, '{"n":3}\n');
    await follower.check(Date.now()); // rotated away: draining, quiet for less than the linger
    expect(follower.tails().map((t) => t.key)).toContain(first!.key);

    const later = Date.now() + ROTATED_LINGER_MS + 1000;
    replica.pause();
    try {
      await follower.check(later);
      expect(follower.tails().map((t) => t.key)).toContain(first!.key);
    } finally {
      replica.resume();
    }
    await eventually(
      async () => {
        await follower.check(later);
        return !follower.tails().some((t) => t.key === first!.key);
      },
      { timeoutMs: 10_000, message: 'the drained file was not closed once the replica had its position' },
    );
    expect(await client(replica).hget(keys.offsets, first!.key)).toBe(batch.next);
  } finally {
    await follower.close();
    dir.remove();
  }
});
