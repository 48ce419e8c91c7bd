/**
 * The test harness: gives tests real servers, first match wins:
 *   1. a URL from the environment (CREMA_TEST_REDIS_URL: the user's own server),
 *   2. a container through testcontainers when a Docker engine answers,
 *   3. the local `redis-server` binary on a free loopback port in a temporary directory.
 * Tests never use a server they did not get from here, and never touch keys outside their prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';

export interface RedisServer {
  readonly url: string;
  readonly kind: 'env' | 'container' | 'local';
  /** Stops the server (an outage); `start` brings it back on the same address. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  dispose(): Promise<void>;
}

/** kill -9 of a server process, resolved once it has exited (at once if it is not running). */
export async function killAndWait(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Spawns a server binary, once it has started; rejects with `hint` (how to get it) when it cannot be. */
export async function spawnServer(command: string, args: readonly string[], hint: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot start ${command} (${error.message}): ${hint}`)));
  });
  return child;
}

/** Stop, start and dispose of a server run from a temporary directory, which `dispose` removes. */
export function localControls(directory: string, start: () => Promise<void>, stop: () => Promise<void>) {
  return {
    kind: 'local' as const,
    stop,
    start,
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Docker engine answers on its socket (or DOCKER_HOST), within a second. */
export async function dockerAvailable(): Promise<boolean> {
  if (process.env.CREMA_TEST_NO_DOCKER) return false;
  const socketPath = '/var/run/docker.sock';
  if (!process.env.DOCKER_HOST && !existsSync(socketPath)) return false;
  if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith('unix://')) return true;
  const path = process.env.DOCKER_HOST?.slice('unix://'.length) ?? socketPath;
  return new Promise((resolve) => {
    const req = request({ socketPath: path, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** The shared Redis of a test run: the environment's, a container, or a local binary. */
export async function startSharedRedis(): Promise<RedisServer> {
  const url = process.env.CREMA_TEST_REDIS_URL;
  if (url) {
    const noop = async () => {};
    return { url, kind: 'env', stop: noop, start: noop, dispose: noop };
  }
  if (await dockerAvailable()) return startRedisContainer();
  // Nobody stops the shared server, so it needs no persistence (and is faster without).
  return startLocalRedis({ persistent: false });
}

/** A Redis of the test's own, which it may stop and start: a container or a local binary. */
export async function startPrivateRedis(): Promise<RedisServer> {
  if (await dockerAvailable()) return startRedisContainer();
  return startLocalRedis();
}

async function startRedisContainer(): Promise<RedisServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7.2-alpine')
    .withCommand(['redis-server', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  return {
    url,
    kind: 'container',
    stop: async () => {
      await container.exec(['redis-cli', 'shutdown', 'nosave']).catch(() => {});
    },
    start: async () => {
      await container.restart();
    },
    dispose: async () => {
      await container.stop();
    },
  };
}

/**
 * The local `redis-server` binary on a free loopback port. Persistent by default (append-only,
 * fsync always) so that a stop and start keeps every acknowledged write; benchmarks turn it off.
 */
export async function startLocalRedis(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const persistence = options.persistent === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const directory = await mkdtemp(join(tmpdir(), 'crema-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = await spawnServer(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', directory, '--logfile', join(directory, 'redis.log')],
      'install it (apt-get install redis-server) or set CREMA_TEST_REDIS_URL',
    );
    await eventually(() => ping(url), { timeoutMs: 10_000, message: `redis-server on port ${port} did not answer` });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    await killAndWait(running);
  };
  await start();
  return { url, ...localControls(directory, start, stop) };
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
