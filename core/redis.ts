/**
 * Redis connections and the Lua scripts, registered once per connection with `defineCommand`.
 *
 * Connections are made for exactly-once work: no offline queue and no automatic re-sending of
 * commands after a reconnect, so a command whose answer was lost is never silently applied twice;
 * the stages resynchronise from Redis instead.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions, type Result } from 'ioredis';
import type { Logger } from './log.js';


declare module 'ioredis' {
  interface RedisCommander<Context> {
    pushBatch(queue: string, offsets: string, fileKey: string, expected: string, next: string, packedEnvelopes: Buffer): Result<[number, number | string], Context>;
    initPosition(offsets: string, fileKey: string, position: string): Result<string, Context>;
    acquireLease(lease: string, consumers: string, processing: string, token: string, leaseMs: number, consumer: string): Result<number, Context>;
    claimBatch(queue: string, processing: string, lease: string, token: string, count: number, leaseMs: number, mode: 'resume' | 'next'): Result<[number, string[]?], Context>;
    commitBatch(lease: string, processing: string, windows: string, open: string, dirty: string, dead: string, changes: string, ...args: (string | number)[]): Result<[number, number?], Context>;
    renewLease(lease: string, token: string, leaseMs: number): Result<number, Context>;
    releaseLease(lease: string, processing: string, consumers: string, token: string, consumer: string): Result<number, Context>;
    recoverConsumers(consumers: string, queue: string, processingPrefix: string, leasePrefix: string): Result<[number, number], Context>;
    tick(open: string, dirty: string, windows: string, changes: string, windowPrefix: string, now: number, windowMs: number, graceMs: number, retentionMs: number): Result<[number, ...(string | string[])[]], Context>;
  }
}

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));

interface ScriptSource {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

let scripts: readonly ScriptSource[] | undefined;

/** The scripts in `core/lua`, named `<name>-<number of keys>.lua`; read once per process. */
function loadScripts(): readonly ScriptSource[] {
  return (scripts ??= readdirSync(LUA_DIR)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => {
      const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!match) throw new Error(`Lua script ${file} is not named <name>-<number of keys>.lua`);
      const name = match[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      return { name, numberOfKeys: Number(match[2]), lua: readFileSync(LUA_DIR + file, 'utf8') };
    }));
}

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
  for (const script of loadScripts()) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
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
