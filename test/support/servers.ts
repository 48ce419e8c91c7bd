/**
 * The test harness: gives tests real servers, first match wins:
 *   1. a URL from the environment (CREMA_TEST_REDIS_URL: the user's own server),
 *   2. a container through testcontainers when a Docker engine answers,
 *   3. the local `redis-server` binary on a free loopback port in a temporary directory.
 * Tests never use a server they did not get from here, and never touch keys outside their prefix.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import type { ConnectionOptions } from 'node:tls';
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

const stderrOf = new WeakMap<ChildProcess, () => string>();

/**
 * Spawns a server binary, once it has started; rejects with `hint` (how to get it) when it cannot
 * be. Servers that log only to their standard streams get `outputFile`: both streams go there, from
 * this start on.
 */
export async function spawnServer(command: string, args: readonly string[], hint: string, options: { cwd?: string; outputFile?: string } = {}): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', options.outputFile ? 'pipe' : 'ignore', 'pipe'] });
  if (options.outputFile) {
    const output = createWriteStream(options.outputFile);
    child.stdout!.pipe(output, { end: false });
    child.stderr!.pipe(output, { end: false });
    child.once('close', () => output.end());
  }
  // Read on, so a chatty server never blocks on a full pipe; the end is kept for the error of a server that exits early.
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  stderrOf.set(child, () => stderr);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot start ${command} (${error.message}): ${hint}`)));
  });
  return child;
}

/** A server that exited before it answered, with the end of its log; `portTaken` when its port was. */
export class ServerExitedError extends Error {
  constructor(
    readonly what: string,
    readonly portTaken: boolean,
    detail: string,
  ) {
    super(`${what} exited before it answered${portTaken ? ': its port was taken' : ''}\n${detail}`);
  }
}

/**
 * Resolves once a server just spawned answers; fails at once, with the end of its log (`logFile`,
 * and what it wrote to stderr), when it exits first, and with `what` after `timeoutMs` when it
 * neither answers nor exits.
 */
export async function untilAnswering(child: ChildProcess, what: string, answers: () => Promise<boolean>, options: { logFile?: string; timeoutMs?: number } = {}): Promise<void> {
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const exit = new Promise<true>((resolve) => (exited() ? resolve(true) : child.once('exit', () => resolve(true))));
  // Whatever holds a taken port may accept a connection and never answer: each look ends at the exit or after a second.
  const look = () => Promise.race([answers().catch(() => false), exit, new Promise<false>((resolve) => setTimeout(resolve, 1000, false).unref())]);
  await eventually(async () => exited() || (await look()), { timeoutMs: options.timeoutMs ?? 10_000, message: `${what} did not answer` });
  if (!exited()) return;
  await exit;
  // stdio closes after the exit event: give the last of stderr its turn.
  await new Promise((resolve) => setImmediate(resolve));
  const { logFile } = options;
  const log = logFile ? await readFile(logFile, 'utf8').catch(() => '') : '';
  const stderr = stderrOf.get(child)?.() ?? '';
  const last = (text: string) => text.trim().split('\n').slice(-8).join('\n');
  const logPart = !logFile ? '' : log.trim() ? `; the end of ${logFile}:\n${last(log)}` : `; nothing in ${logFile}`;
  throw new ServerExitedError(
    what,
    /address already in use/i.test(log + stderr),
    `exit ${child.exitCode ?? child.signalCode}${logPart}${stderr.trim() && !log.includes(stderr.trim()) ? `\nthe end of its stderr:\n${last(stderr)}` : ''}`,
  );
}

/**
 * `start(port)` on a port `pickPort` found free; on a port picked again when the server found it
 * taken. The port is free when picked, not when the server binds it a moment later: another
 * process may take it in between (an outgoing connection's ephemeral port, another test file's
 * server), and then the server exits at once.
 */
export async function onFreePort<T>(pickPort: () => Promise<number>, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort();
    try {
      return await start(port);
    } catch (error) {
      if (!(error instanceof ServerExitedError && error.portTaken) || attempt === 5) throw error;
    }
  }
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

/** Whether `port` can be listened on at 127.0.0.1 now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
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

/** What {@link startLocalRedis} may add to a plain local server. */
export interface LocalRedisOptions {
  /** Append-only file with fsync always, so a stop and start keeps every acknowledged write. @defaultValue true */
  readonly persistent?: boolean;
  /** More `redis-server` arguments, such as `--requirepass`. */
  readonly args?: readonly string[];
  /**
   * Serve TLS only (`--port 0 --tls-port`), with these PEM files; Redis's default
   * `tls-auth-clients yes` then requires a client certificate signed by `ca`, so `client` is the
   * one the harness itself uses to check that the server answers.
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string; readonly client: { readonly cert: string; readonly key: string } };
}

/** A local `redis-server` of the test's own: its port and process, which a test may pause (SIGSTOP) and resume. */
export interface LocalRedisServer extends RedisServer {
  readonly kind: 'local';
  readonly port: number;
  /** The running server's process id; undefined while stopped. */
  pid(): number | undefined;
  /** SIGSTOP: the server keeps its connections open and stops answering (a hung Redis). */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

/**
 * The local `redis-server` binary on a free loopback port. Persistent by default (append-only,
 * fsync always) so that a stop and start keeps every acknowledged write; benchmarks turn it off.
 */
export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedisServer> {
  const directory = await mkdtemp(join(tmpdir(), 'crema-redis-'));
  try {
    return await onFreePort(freePort, (port) => startLocalRedisOn(port, directory, options));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function startLocalRedisOn(port: number, directory: string, options: LocalRedisOptions): Promise<LocalRedisServer> {
  const persistence = options.persistent === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always'];
  const { tls } = options;
  // With TLS, `-::1` also listens on IPv6 loopback where there is one, so `localhost` works whichever address it resolves to.
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '-::1', '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca]
    : ['--port', String(port), '--bind', '127.0.0.1'];
  const url = `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`;
  const tlsOptions = tls && { ca: readFileSync(tls.ca), cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key), servername: 'localhost' };
  const logFile = join(directory, 'redis.log');
  let child: ChildProcess | undefined;
  let paused = false;
  const start = async () => {
    child = await spawnServer(
      'redis-server',
      [...listen, '--save', '', ...persistence, '--dir', directory, '--logfile', logFile, ...(options.args ?? [])],
      'install it (apt-get install redis-server) or set CREMA_TEST_REDIS_URL',
    );
    await untilAnswering(child, `redis-server on port ${port}`, () => answersPing(url, tlsOptions), { logFile });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (paused) running?.kill('SIGCONT');
    paused = false;
    await killAndWait(running);
  };
  const signal = (name: 'SIGSTOP' | 'SIGCONT') => {
    if (!child?.pid) throw new Error(`redis-server on port ${port} is not running`);
    child.kill(name);
    paused = name === 'SIGSTOP';
  };
  try {
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    port,
    ...localControls(directory, start, stop),
    pid: () => child?.pid,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}

/**
 * A local `redis-server` (no persistence) replicating `master`, once the master counts it online:
 * the replica says its link is up a moment before the master lists it (`ROLE`, `WAIT`).
 */
export async function startLocalReplica(master: LocalRedisServer): Promise<LocalRedisServer> {
  const replica = await startLocalRedis({ persistent: false, args: ['--replicaof', '127.0.0.1', String(master.port)] });
  const probe = new Redis(master.url, { maxRetriesPerRequest: 1 });
  try {
    await eventually(async () => /^slave\d+:.*state=online/m.test(await probe.info('replication')), { timeoutMs: 15_000, message: `the replica on port ${replica.port} did not come online` });
  } catch (error) {
    await replica.dispose();
    throw error;
  } finally {
    probe.disconnect();
  }
  return replica;
}

/** Whether a Redis at `url` answers PING within a second (false on any error). */
export async function answersPing(url: string, tls?: ConnectionOptions): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000, ...(tls && { tls }) });
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
