/**
 * Live-stream fan-out: 1,000 concurrent SSE clients on one `crema serve` process (the real CLI,
 * in a child process so its memory is its own). The clients, each on its own connection, live in
 * worker threads; the benchmark publishes window snapshots on the stats channel as the
 * processor's ticker does and measures, per client and message, the time from PUBLISH to the
 * event's arrival, and the server's resident memory per connected client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectRedis, createRedis } from '../core/redis.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';
import { Worker } from 'node:worker_threads';
import { freePort } from '../test/support/servers.js';
import type { ClientsReport, ClientsWorkerData, CollectRequest } from './stream-clients.js';
import { benchKeys, percentile, rssMiB, startLocalRedis, waitUntil } from './support.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface StreamBenchOptions {
  /** Concurrent clients. @defaultValue 1000 */
  readonly clients?: number;
  /** Windows published. @defaultValue 100 */
  readonly messages?: number;
  /** Threads holding the clients. @defaultValue 2 */
  readonly threads?: number;
  /** Pause between publishes, ms: ten windows a second, ten times what the ticker publishes by default. @defaultValue 100 */
  readonly intervalMs?: number;
}

export interface StreamBenchResult {
  readonly clients: number;
  /** Every client received every window, in order. */
  readonly deliveredAll: boolean;
  /** 99th percentile over all clients and windows of PUBLISH → event received, ms. */
  readonly p99Ms: number;
  /** Median of the same. */
  readonly p50Ms: number;
  /** Growth of the server's resident memory per connected client, KiB. */
  readonly memoryPerClientKb: number;
}

/** A realistic window: all categories of the default catalog (~700 bytes of JSON). */
function window(start: number, seq: number): WindowSnapshot {
  const n = (k: number) => seq * 10 + k;
  return {
    start,
    end: start + 10_000,
    final: false,
    orders: seq,
    drinks: n(5),
    late: 0,
    age: Object.fromEntries(['0010', '1020', '2030', '3040', '4050', '5060', '6070', '7080', '8090', '9999'].map((g, k) => [g, n(k)])),
    payment: { Cash: n(1), Credit: n(2), Debit: n(3) },
    coffee: Object.fromEntries(
      ['Espresso', 'Espresso Macchiato', 'Espresso con Panna', 'Caffe Latte', 'Flat White', 'Cafe Breve', 'Cappuccino', 'Caffe Mocha', 'Americano'].map((c, k) => [c, n(k)]),
    ),
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export async function benchStream(options: StreamBenchOptions = {}): Promise<StreamBenchResult> {
  const clientCount = options.clients ?? 1000;
  const messages = options.messages ?? 100;
  const intervalMs = options.intervalMs ?? 100;
  const threads = options.threads ?? 2;
  const redisServer = await startLocalRedis({ persistent: false });
  const keys = benchKeys();
  const port = await freePort();
  const server = spawn(process.execPath, [CLI, 'serve', '--redis-url', redisServer.url, '--prefix', keys.prefix, '--web-port', String(port)], {
    env: { ...process.env, CREMA_LOG_LEVEL: 'warn', CREMA_API_RATE_LIMIT: '0', CREMA_STREAM_MAX_CLIENTS: String(clientCount + 10) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const publisher = createRedis(redisServer.url, { name: 'bench-publisher' });
  const workers: Worker[] = [];
  try {
    await connectRedis(publisher);
    const url = `http://127.0.0.1:${port}/api/stream`;
    const healthy = async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200;
    await waitUntil(healthy, 20_000, 50);
    const before = await rssMiB(server.pid);

    const ready: Promise<unknown>[] = [];
    for (let i = 0; i < threads; i++) {
      const count = Math.floor(clientCount / threads) + (i < clientCount % threads ? 1 : 0);
      const worker = new Worker(new URL('./stream-clients.js', import.meta.url), { workerData: { url, count } satisfies ClientsWorkerData });
      workers.push(worker);
      ready.push(new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }));
    }
    await Promise.all(ready);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await rssMiB(server.pid);

    const start = Math.floor(Date.now() / 10_000) * 10_000;
    const publishedAt: number[] = [];
    for (let seq = 1; seq <= messages; seq++) {
      const text = JSON.stringify(window(start, seq));
      publishedAt[seq] = performance.timeOrigin + performance.now();
      await publisher.publish(keys.statsChannel, text);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    const reports = await Promise.all(
      workers.map(
        (worker) =>
          new Promise<ClientsReport>((resolve) => {
            worker.once('message', resolve);
            worker.postMessage({ start, messages, timeoutMs: 30_000 } satisfies CollectRequest);
          }),
      ),
    );
    const clients = reports.flatMap((r) => r.clients);

    const delays: number[] = [];
    let deliveredAll = clients.length === clientCount;
    for (const c of clients) {
      if (c.seqs.length !== messages || c.seqs.some((s, i) => s !== i + 1)) deliveredAll = false;
      c.seqs.forEach((seq, i) => delays.push(c.arrivedAt[i]! - publishedAt[seq]!));
    }
    delays.sort((a, b) => a - b);
    return {
      clients: clients.filter((c) => !c.ended).length,
      deliveredAll,
      p99Ms: Number(percentile(delays, 99).toFixed(1)),
      p50Ms: Number(percentile(delays, 50).toFixed(1)),
      memoryPerClientKb: Number((((after - before) * 1024) / clientCount).toFixed(1)),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    publisher.disconnect();
    await stop(server);
    await redisServer.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${JSON.stringify(await benchStream())}\n`);
}
