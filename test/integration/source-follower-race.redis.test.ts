/**
 * A follower reads each file under that file's own key, even when a rotation happens between the
 * look that names the file and the open that reads it (a slow Redis round trip sits in between:
 * seconds during a failover).
 */
import { statSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { fileKey, identityOf } from '../../collector/file-identity.js';
import type { FileTail } from '../../collector/file-tail.js';
import { CatchUpLog } from '../../collector/catch-up-log.js';
import { SourceFollower } from '../../collector/source-follower.js';
import { createMetrics } from '../../core/metrics.js';
import { Scripts, defineScripts } from '../../core/scripts.js';
import { rotate } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { silentLog } from '../support/stages.js';

const env = useTestEnvironment();

async function linesOf(tail: FileTail): Promise<string[]> {
  const batch = await tail.nextBatch(100, 1);
  return (batch?.envelopes.bulks.toString() ?? '').match(/\{"n":\d+\}/g) ?? [];
}

it('reads the file it looked at under its own key when a rotation comes between the look and the open', async () => {
  const path = env.dir.file('orders.jsonl');
  writeFileSync(path, '{"n":1}\n{"n":2}\n');
  const first = fileKey(identityOf(statSync(path)));
  defineScripts(env.redis.client);
  const scripts = new Scripts(env.redis.client, env.redis.keys);
  let rotated = false;
  // The real script layer, with a rotation done while the follower waits for the position.
  const racing = new Proxy(scripts, {
    get(target, property) {
      if (property === 'initPosition') {
        return async (key: string, position: string) => {
          if (!rotated) {
            rotated = true;
            rotate(path);
            writeFileSync(path, '{"n":3}\n');
          }
          return target.initPosition(key, position);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const follower = new SourceFollower(path, {
    redis: env.redis.client,
    scripts: racing,
    keys: env.redis.keys,
    host: 'h',
    maxLineBytes: 1024,
    log: silentLog,
    metrics: createMetrics('h'),
    catchUp: new CatchUpLog(silentLog),
  });
  try {
    await follower.start('beginning');
    expect(rotated).toBe(true);
    // The file looked at, now under its rotated name, is read from its start under its own key.
    const [opened] = follower.tails();
    expect(opened!.key).toBe(first);
    expect(opened!.path).toBe(`${path}.1`);
    expect(await linesOf(opened!)).toEqual(['{"n":1}', '{"n":2}']);
    // The next check sees it was rotated away and opens the new file at the path, under its key.
    await follower.check(Date.now());
    const current = follower.tails().at(-1)!;
    expect(current.key).toBe(fileKey(identityOf(statSync(path))));
    expect(current.key).not.toBe(first);
    expect(await linesOf(current)).toEqual(['{"n":3}']);
  } finally {
    await follower.close();
  }
});
