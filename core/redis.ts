/**
 * Redis connections, with the Lua scripts of `scripts.ts` registered on each.
 *
 * Connections are made for exactly-once work: no offline queue and no automatic re-sending of
 * commands after a reconnect, so a command whose answer was lost is never silently applied twice;
 * the stages resynchronise from Redis instead.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './log.js';
import { defineScripts } from './scripts.js';


export interface RedisConnectionOptions {
  /** Shown in `CLIENT LIST`. */
  readonly name: string;
  readonly log?: Logger;
  /** Extra ioredis options (tests use this for short timeouts). */
  readonly overrides?: RedisOptions;
}

/**
 * Opens a connection with the scripts defined. It reconnects forever with capped backoff and
 * logs once per change of state; commands fail fast while it is down.
 */
export function createRedis(url: string, options: RedisConnectionOptions): Redis {
  const redis = new Redis(url, {
    connectionName: options.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 10), 2000),
    ...options.overrides,
  });
  defineScripts(redis);
  watchConnection(redis, options.name, options.log);
  return redis;
}

/** Logs once when the connection goes down and once when it is back; errors are handled where commands fail. */
function watchConnection(redis: Redis, name: string, log: Logger | undefined): void {
  let down = false;
  redis.on('ready', () => {
    if (down) log?.info({ connection: name }, 'redis reachable again');
    down = false;
  });
  redis.on('error', (error: Error) => {
    if (!down) log?.warn({ connection: name, err: error.message }, 'redis unreachable; retrying with backoff');
    down = true;
  });
}

/**
 * Connects, waiting (with the connection's own backoff) until Redis answers or `signal` aborts.
 */
export async function connectRedis(redis: Redis, signal?: AbortSignal): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') redis.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onAbort = () => {
      cleanup();
      reject(new Error('aborted while connecting to redis'));
    };
    if (signal?.aborted) return onAbort();
    redis.on('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Closes a connection politely, or drops it when Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') {
      await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    }
  } catch {
    // quitting a broken connection fails; disconnect below ends it either way
  }
  redis.disconnect();
}
