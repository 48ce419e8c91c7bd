/** The test harness's local servers: a port taken between its pick and the server's bind costs a retry, not a failed suite. */
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startLocalInfluxDB } from '../support/influx.js';
import { startLocal } from '../support/prometheus.js';
import { answersPing, freePort, killAndWait, onFreePort, ServerExitedError, spawnServer, untilAnswering } from '../support/servers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function holdPort(): Promise<number> {
  // It drops every connection, as a port held by another process would never answer a PING.
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

async function directory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'crema-harness-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function pong(port: number): Promise<boolean> {
  return answersPing(`redis://127.0.0.1:${port}`);
}

/** A redis-server on `port`, once it answers. */
async function redisOn(port: number, dir: string, extra: string[] = []): Promise<number> {
  const logFile = join(dir, `redis-${port}.log`);
  const child = await spawnServer('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', logFile, ...extra], 'apt-get install redis-server');
  cleanups.push(() => killAndWait(child));
  await untilAnswering(child, `redis-server on port ${port}`, () => pong(port), { logFile });
  return port;
}

it('starts a server again on another port when the port picked was taken before the server bound it', async () => {
  const dir = await directory();
  const taken = await holdPort();
  const picked: number[] = [];
  const port = await onFreePort(
    async () => {
      const next = picked.length === 0 ? taken : await freePort();
      picked.push(next);
      return next;
    },
    (p) => redisOn(p, dir),
  );
  expect(picked[0]).toBe(taken);
  expect(picked).toHaveLength(2);
  expect(port).toBe(picked[1]);
  expect(await pong(port)).toBe(true);
});

it('fails at once, with the end of its log, when a server exits for another reason', async () => {
  const dir = await directory();
  const starting = onFreePort(freePort, (p) => redisOn(p, dir, ['--dir', join(dir, 'missing')]));
  // A ServerExitedError, not the timeout's error: the exit is seen, not waited out.
  await expect(starting).rejects.toBeInstanceOf(ServerExitedError);
  await expect(starting).rejects.toMatchObject({ portTaken: false, message: expect.stringMatching(/exited before it answered[\s\S]*exit 1[\s\S]*stderr[\s\S]*No such file or directory/) });
});

it('gives up after five taken ports, saying so', async () => {
  const dir = await directory();
  const taken = await holdPort();
  let picks = 0;
  const starting = onFreePort(
    async () => {
      picks++;
      return taken;
    },
    (p) => redisOn(p, dir),
  );
  await expect(starting).rejects.toMatchObject({ portTaken: true, message: expect.stringContaining('its port was taken') });
  expect(picks).toBe(5);
});

/** Picks `taken` first, then free ports; records each pick. */
function takenFirst(taken: number, picked: number[]): () => Promise<number> {
  return async () => {
    const next = picked.length === 0 ? taken : await freePort();
    picked.push(next);
    return next;
  };
}

it('starts influxd again on another port when its HTTP port was taken', async () => {
  const taken = await holdPort();
  const picked: number[] = [];
  const influx = await startLocalInfluxDB(takenFirst(taken, picked));
  cleanups.push(() => influx.dispose());
  expect(picked).toHaveLength(2);
  // The database is created through the server that started, on the second port.
  const database = await influx.createDatabase();
  expect(await influx.query(database, 'SHOW MEASUREMENTS')).toEqual([]);
  const { results } = (await (await fetch(`http://127.0.0.1:${picked[1]}/query?q=SHOW%20DATABASES`)).json()) as { results: { series: { values: string[][] }[] }[] };
  expect(results[0]!.series[0]!.values.flat()).toContain(database);
});

it('starts prometheus again on another port when its port was taken', async () => {
  const dir = await directory();
  await writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1s\n');
  const taken = await holdPort();
  const picked: number[] = [];
  const prometheus = await startLocal(
    'prometheus',
    (port) => [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    dir,
    '/-/ready',
    'apt-get install prometheus',
    takenFirst(taken, picked),
  );
  cleanups.push(() => prometheus.stop());
  expect(picked).toHaveLength(2);
  expect(prometheus.url).toBe(`http://127.0.0.1:${picked[1]}`);
  expect((await fetch(`${prometheus.url}/-/ready`)).status).toBe(200);
});
