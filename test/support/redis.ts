/** Per-test Redis access: the run's shared server, a key prefix of the test's own, and cleanup. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { RedisKeys } from '../../core/keys.js';
import { connectRedis, createRedis } from '../../core/redis.js';

export interface TestRedis {
  readonly url: string;
  readonly prefix: string;
  readonly keys: RedisKeys;
  /** A plain client for assertions. */
  readonly client: Redis;
  /** A connection with Crema's scripts and options, as the stages use (they wait for it to be ready). */
  connect(name?: string): Redis;
  /** Same as {@link connect}, once ready. */
  connected(name?: string): Promise<Redis>;
  /** Deletes this test's keys and closes its connections. */
  cleanup(): Promise<void>;
}

export function testRedis(url: string = inject('redisUrl')): TestRedis {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // outage tests stop the server on purpose
  const connections: Redis[] = [client];
  return {
    url,
    prefix,
    keys: new RedisKeys(prefix),
    client,
    connect(name = 'test') {
      const redis = createRedis(url, { name, overrides: { lazyConnect: false } });
      connections.push(redis);
      return redis;
    },
    async connected(name = 'test') {
      const redis = this.connect(name);
      await connectRedis(redis);
      return redis;
    },
    async cleanup() {
      try {
        if (client.status === 'ready') await deleteByPrefix(client, prefix);
      } finally {
        for (const c of connections) c.disconnect();
      }
    },
  };
}

async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
