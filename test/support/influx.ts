/**
 * InfluxDB for tests and the benchmark, first match wins (as for Redis, see servers.ts):
 *   1. CREMA_TEST_INFLUX_URL (+ CREMA_TEST_INFLUX_TOKEN): the user's own InfluxDB 1.8+,
 *   2. `influxdb:1.12` through testcontainers when a Docker engine answers,
 *   3. the local `influxd` (Debian's 1.6.7) on free loopback ports in a temporary directory,
 *      fronted by the test-only shim in influx-v2-shim.ts for `/api/v2/write`.
 * Each test creates a database of its own with {@link InfluxServer.createDatabase}.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';
import { type V2WriteShim, startV2WriteShim } from './influx-v2-shim.js';
import { dockerAvailable, freePort, killAndWait, localControls, onFreePort, spawnServer, untilAnswering } from './servers.js';

export interface InfluxServer {
  /** Base URL that accepts `/api/v2/write` and `/query`. */
  readonly url: string;
  /** Token for the v2 client (`user:password` on 1.x; empty when auth is off). */
  readonly token: string;
  readonly kind: 'env' | 'container' | 'local';
  /** Creates a database with a random name and returns it (use it as the bucket). */
  createDatabase(): Promise<string>;
  /** Runs InfluxQL; timestamps in epoch ms. */
  query(database: string, influxql: string): Promise<InfluxSeries[]>;
  /** Stops the server (an outage); `start` brings it back on the same address. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  dispose(): Promise<void>;
}

/** One series of an InfluxQL answer. */
export interface InfluxSeries {
  readonly name: string;
  readonly tags?: Record<string, string>;
  readonly columns: string[];
  readonly values: (string | number | boolean | null)[][];
}

/** An InfluxDB for a test: the environment's, a container, or the local binary. */
export async function startInfluxDB(): Promise<InfluxServer> {
  const url = process.env.CREMA_TEST_INFLUX_URL;
  if (url) {
    const noop = async () => {};
    return withClient({ url, token: process.env.CREMA_TEST_INFLUX_TOKEN ?? '', kind: 'env', stop: noop, start: noop, dispose: noop });
  }
  return startPrivateInfluxDB();
}

/** An InfluxDB of the test's own, which it may stop and start: a container or the local binary. */
export async function startPrivateInfluxDB(): Promise<InfluxServer> {
  return (await dockerAvailable()) ? startInfluxContainer() : startLocalInfluxDB();
}

type Lifecycle = Pick<InfluxServer, 'url' | 'token' | 'kind' | 'stop' | 'start' | 'dispose'>;

function withClient(server: Lifecycle): InfluxServer {
  return {
    ...server,
    async createDatabase() {
      const name = `test_${randomBytes(6).toString('hex')}`;
      await influxQuery(server.url, server.token, '', `CREATE DATABASE "${name}"`, 'POST');
      return name;
    },
    query: (database, influxql) => influxQuery(server.url, server.token, database, influxql, 'GET'),
  };
}

/** Runs InfluxQL against `/query` and returns its series; throws on any error in the answer. */
export async function influxQuery(url: string, token: string, database: string, influxql: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxSeries[]> {
  const params = new URLSearchParams({ q: influxql, epoch: 'ms' });
  if (database) params.set('db', database);
  const headers: Record<string, string> = token ? { authorization: `Token ${token}` } : {};
  const response = await fetch(`${url}/query?${params}`, { method, headers, signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { error?: string; results?: { error?: string; series?: InfluxSeries[] }[] };
  const error = body.error ?? body.results?.find((r) => r.error)?.error;
  if (!response.ok || error) throw new Error(`InfluxQL failed (${response.status}): ${error ?? JSON.stringify(body)}\n  ${influxql}`);
  return body.results?.flatMap((r) => r.series ?? []) ?? [];
}

async function ping(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return response.status === 204;
  } catch {
    return false;
  }
}

async function startInfluxContainer(): Promise<InfluxServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // A fixed host port, so that a restart (an outage) keeps the address the exporter uses.
  const port = await freePort();
  const container = await new GenericContainer('influxdb:1.12')
    .withEnvironment({ INFLUXDB_REPORTING_DISABLED: 'true', INFLUXDB_HTTP_LOG_ENABLED: 'false' })
    .withExposedPorts({ container: 8086, host: port })
    .withWaitStrategy(Wait.forHttp('/ping', 8086).forStatusCode(204))
    .start();
  const url = `http://${container.getHost()}:${port}`;
  return withClient({
    url,
    token: '',
    kind: 'container',
    stop: async () => {
      await container.exec(['sh', '-c', 'kill 1']).catch(() => {});
      await eventually(async () => !(await ping(url)), { timeoutMs: 15_000, message: 'influxdb container did not stop' });
    },
    start: async () => {
      await container.restart();
      await eventually(() => ping(url), { timeoutMs: 30_000, message: 'influxdb container did not come back' });
    },
    dispose: async () => {
      await container.stop();
    },
  });
}

/** The local `influxd`, its HTTP API on a port `pickPort` found free (on another when that one was taken). */
export async function startLocalInfluxDB(pickPort: () => Promise<number> = freePort): Promise<InfluxServer> {
  const directory = await mkdtemp(join(tmpdir(), 'crema-influxd-'));
  try {
    return await onFreePort(pickPort, (httpPort) => startLocalInfluxDBOn(httpPort, directory));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function startLocalInfluxDBOn(httpPort: number, directory: string): Promise<InfluxServer> {
  const [rpcPort, shimPort] = [await freePort(), await freePort()];
  const configFile = join(directory, 'influxdb.conf');
  const logFile = join(directory, 'influxd.log');
  await writeFile(configFile, influxdConfig(directory, httpPort, rpcPort));
  const url = `http://127.0.0.1:${shimPort}`;
  let child: ChildProcess | undefined;
  let shim: V2WriteShim | undefined;
  const start = async () => {
    child = await spawnServer('influxd', ['run', '-config', configFile], 'install it (apt-get install influxdb) or set CREMA_TEST_INFLUX_URL', { outputFile: logFile });
    await untilAnswering(child, `influxd on ports ${httpPort} and ${rpcPort}`, () => ping(`http://127.0.0.1:${httpPort}`), { logFile, timeoutMs: 20_000 });
    shim = await startV2WriteShim(shimPort, httpPort);
  };
  const stop = async () => {
    await shim?.close();
    shim = undefined;
    const running = child;
    child = undefined;
    await killAndWait(running);
  };
  try {
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return withClient({ url, token: '', ...localControls(directory, start, stop) });
}

/** influxd 1.x configuration: loopback only, every file in `directory`, nothing reported. */
function influxdConfig(directory: string, httpPort: number, rpcPort: number): string {
  return `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(directory, 'meta')}"

[data]
  dir = "${join(directory, 'data')}"
  wal-dir = "${join(directory, 'wal')}"
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:${httpPort}"
  log-enabled = false

[logging]
  level = "error"

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false
`;
}
