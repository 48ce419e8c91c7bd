/**
 * Least privilege on Redis: every stage runs as the ACL user `crema acl` prints for it, on a private
 * redis-server that has those users and nothing else for them. A whole pipeline (collect → process
 * → serve → export) counts every order exactly and Redis refuses nothing (its ACL log stays
 * empty), so a command a stage starts to use without its grant fails here. Wrong credentials and a
 * missing permission stop a stage with exit code 2 and one line naming REDIS_URL, instead of
 * "unreachable, retrying" forever.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { windowStart } from '../../core/windows.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { type InfluxServer, startInfluxDB } from '../support/influx.js';
import { influxLines, redisLines } from '../support/influx-truth.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type LocalRedisServer, freePort, startLocalRedis, startLocalReplica } from '../support/servers.js';
import { SseTestClient } from '../support/sse.js';
import { rotate } from '../support/files.js';

const STAGES = ['collector', 'processor', 'exporter', 'web'] as const;
type Stage = (typeof STAGES)[number];
const PASSWORDS: Record<Stage, string> = {
  collector: 'collector-secret-0a1b2c3d4e',
  processor: 'processor-secret-5f6a7b8c9d',
  exporter: 'exporter-secret-0e1f2a3b4c',
  web: 'web-secret-5d6e7f8a9b0c1d',
};

let server: LocalRedisServer;
// A replica, as in production: the collector waits for it (WAIT) before it closes a rotated file.
let replica: LocalRedisServer;
beforeAll(async () => {
  server = await startLocalRedis({ persistent: false });
  replica = await startLocalReplica(server);
}, 30_000);
afterAll(async () => {
  await replica?.dispose();
  await server?.dispose();
});
const env = useTestEnvironment({ redisUrl: () => server.url });

/** `redis://crema-<stage>:<password>@127.0.0.1:<port>`. */
function stageUrl(stage: Stage, password = PASSWORDS[stage]): string {
  return `redis://crema-${stage}:${password}@127.0.0.1:${server.port}`;
}

/** Runs `crema acl` for the test's prefix (the collector's password from a file) and returns its lines. */
async function aclLines(): Promise<string[]> {
  const passwordFile = env.dir.file('collector-password');
  writeFileSync(passwordFile, `${PASSWORDS.collector}\n`);
  const acl = new CremaProcess('acl', ['--prefix', env.redis.prefix], {
    CREMA_ACL_COLLECTOR_PASSWORD_FILE: passwordFile,
    CREMA_ACL_PROCESSOR_PASSWORD: PASSWORDS.processor,
    CREMA_ACL_EXPORTER_PASSWORD: PASSWORDS.exporter,
    CREMA_ACL_WEB_PASSWORD: PASSWORDS.web,
  });
  expect((await acl.exitWithin(15_000)).code, acl.logs).toBe(0);
  expect(acl.stderr).toBe('');
  const lines = acl.stdout.trimEnd().split('\n');
  expect(lines.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual(STAGES.map((stage) => `ACL SETUSER crema-${stage}`));
  for (const password of Object.values(PASSWORDS)) expect(acl.stdout).not.toContain(password);
  return lines;
}

/** Creates the users as an operator would: `crema acl … | redis-cli`. */
function createUsers(lines: readonly string[]): void {
  const answers = execFileSync('redis-cli', ['-p', String(server.port)], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  expect(answers.trim().split('\n')).toEqual(lines.map(() => 'OK'));
}

/** Redis's record of refused commands, keys, channels and logins since the last reset. */
async function aclLog(): Promise<unknown[]> {
  return (await env.redis.client.call('ACL', 'LOG')) as unknown[];
}

function started(process: CremaProcess): CremaProcess {
  env.onCleanup(() => process.kill9());
  return process;
}

it('runs every stage as its own user: a whole pipeline counts exactly, and Redis refuses nothing', async () => {
  const { redis: t, dir } = env;
  const influx: InfluxServer = await startInfluxDB();
  env.onCleanup(() => influx.dispose());
  const database = await influx.createDatabase();
  createUsers(await aclLines());
  await t.client.call('ACL', 'LOG', 'RESET');

  const W = 1000;
  const lines = orderLines(3000, { seed: 71, firstStart: windowStart(Date.now(), W) - 30 * W, windows: 20, windowMs: W });
  const file = dir.file('orders.jsonl');
  writeFileSync(file, `${lines.slice(0, 1000).join('\n')}\n`);
  const webPort = await freePort();
  const common = ['--prefix', t.prefix];
  const web = started(new CremaProcess('serve', ['--redis-url', stageUrl('web'), ...common, '--web-port', String(webPort)]));
  const processor = started(
    new CremaProcess('process', ['--redis-url', stageUrl('processor'), ...common, '--window-seconds', '1', '--grace-seconds', '1', '--tick-ms', '200', '--lease-seconds', '4']),
  );
  const collector = started(new CremaProcess('collect', ['--redis-url', stageUrl('collector'), ...common, '--file', file]));
  const exporter = started(
    new CremaProcess('export', ['--redis-url', stageUrl('exporter'), ...common, '--influx-url', influx.url, '--influx-bucket', `${database}/autogen`, '--provisional-seconds', '0.2'], {
      INFLUX_TOKEN: influx.token,
    }),
  );
  const url = `http://127.0.0.1:${webPort}`;
  await web.waitForLog('live stream subscribed');
  const stream = new SseTestClient(`${url}/api/stream`);
  env.onCleanup(() => stream.close());
  await stream.waitFor((c) => c.named('hello').length === 1, 'no hello on the live stream');
  await collector.waitForLog('following file');
  writeFileSync(file, `${lines.slice(1000, 2000).join('\n')}\n`, { flag: 'a' });
  // A rotation, so that the collector's user also drains and closes a rotated file (HGET, ROLE, and WAIT for the replica).
  rotate(file);
  writeFileSync(file, `${lines.slice(2000).join('\n')}\n`);

  const expected = expectedWindows(lines, W);
  const logs = () => [web, processor, collector, exporter].map((p) => `--- ${p.command}\n${p.logs.slice(-1500)}`).join('\n');
  await eventually(
    async () => {
      let total = 0;
      for (const start of expected.keys()) total += Number((await t.client.hget(t.keys.window(start), 'orders')) ?? 0);
      return total === lines.length && (await t.client.zcard(t.keys.open)) === 0 && (await t.client.llen(t.keys.queue)) === 0;
    },
    { timeoutMs: 40_000, intervalMs: 200, message: () => `not every order was counted and closed; logs:\n${logs()}` },
  );
  for (const [start, window] of expected) expect(countsOnly(await t.client.hgetall(t.keys.window(start)))).toEqual(expectedHash(window));

  // The web user reads the history and relays the processor's publications.
  const first = Math.min(...expected.keys());
  const history = (await (await fetch(`${url}/api/windows?from=${first}&limit=1000`)).json()) as { windows: { start: number; orders: number }[] };
  expect(history.windows.reduce((sum, w) => sum + w.orders, 0)).toBe(lines.length);
  expect(history.windows.map((w) => w.start)).toEqual([...expected.keys()].sort((a, b) => a - b));
  await stream.waitFor((c) => c.named('window').some((e) => (JSON.parse(e.data) as { final: boolean }).final), 'no window relayed on the live stream');

  // The exporter user wrote InfluxDB exactly what Redis holds.
  let last = { influx: [] as string[], redis: [] as string[] };
  await eventually(
    async () => {
      last = { influx: await influxLines(influx, database), redis: await redisLines(t.client, t.keys) };
      return last.redis.length > 0 && JSON.stringify(last.influx) === JSON.stringify(last.redis);
    },
    { timeoutMs: 30_000, intervalMs: 500, message: () => `InfluxDB has ${last.influx.length} points, Redis implies ${last.redis.length}; logs:\n${logs()}` },
  );

  await collector.waitForLog('rotated file drained: closing it');
  const exits = await Promise.all([collector, processor, exporter, web].map((p) => p.terminate()));
  expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
  expect(await aclLog()).toEqual([]);
  for (const p of [collector, processor, exporter, web]) {
    expect(p.stderr, `crema ${p.command} wrote to stderr`).toBe('');
    expect(p.logs).not.toMatch(/NOPERM|no permissions|WRONGPASS/);
  }
});

/** Spawns `crema <command>` as `url`'s user and expects it to stop at once with one line naming REDIS_URL. */
async function expectRefused(command: string, url: string, flags: readonly string[], mentions: readonly string[]): Promise<string> {
  const process = started(new CremaProcess(command, ['--redis-url', url, '--prefix', env.redis.prefix, ...flags]));
  const { code } = await process.exitWithin(15_000);
  const stderr = process.stderr.trimEnd().split('\n');
  expect({ code, stderr }).toMatchObject({ code: 2, stderr: [expect.stringContaining('REDIS_URL')] });
  for (const text of mentions) expect(stderr[0]).toContain(text);
  expect(process.logs, 'a stack trace').not.toMatch(/\n\s+at /);
  expect(process.logs).not.toMatch(/retrying/);
  return stderr[0]!;
}

it('stops at start-up, exit 2, when the password is wrong or the user does not exist', async () => {
  await env.redis.client.call('ACL', 'SETUSER', 'crema-processor', 'reset', 'on', `>${PASSWORDS.processor}`, '~*', '&*', '+@all');
  const line = await expectRefused('process', stageUrl('processor', 'not-the-password'), [], ['crema-processor', 'WRONGPASS']);
  expect(line).not.toContain('not-the-password');
  await expectRefused('collect', `redis://crema-nobody:pw@127.0.0.1:${server.port}`, ['--file', env.dir.file('orders.jsonl')], ['crema-nobody']);
});

it.each([
  ['process', 'processor', 'hsetnx', []],
  ['process', 'processor', 'lpop', []],
  ['collect', 'collector', 'hmget', ['--file']],
  ['serve', 'web', 'subscribe', []],
] as const)('crema %s (user crema-%s) stops, exit 2, when it may not run %s', async (command, stage: Stage, denied, fileFlag) => {
  const lines = await aclLines();
  const index = lines.findIndex((line) => line.startsWith(`ACL SETUSER crema-${stage} `));
  const words = lines[index]!.split(' ');
  expect(words, `crema acl grants ${denied} to crema-${stage}`).toContain(`+${denied}`);
  lines[index] = words.filter((word) => word !== `+${denied}`).join(' ');
  createUsers(lines);
  const { redis: t, dir } = env;
  if (command === 'collect') writeFileSync(dir.file('orders.jsonl'), '{"n":1}\n');
  if (command === 'process') await t.client.rpush(t.keys.queue, '{"not":"an envelope"}');
  const flags = fileFlag.length > 0 ? ['--file', dir.file('orders.jsonl')] : command === 'serve' ? ['--web-port', String(await freePort())] : [];
  await expectRefused(command, stageUrl(stage), flags, [`crema-${stage}`, denied]);
});

it('crema serve stops, exit 2, when its user loses the stats channel while it runs', async () => {
  await env.redis.client.call('ACL', 'SETUSER', 'crema-web', 'reset', 'on', `>${PASSWORDS.web}`, '~*', '&*', '+@all');
  const web = started(new CremaProcess('serve', ['--redis-url', stageUrl('web'), '--prefix', env.redis.prefix, '--web-port', String(await freePort())]));
  await web.waitForLog('live stream subscribed');
  // Redis drops the subscriber when its channel is revoked; the subscription made again is refused.
  await env.redis.client.call('ACL', 'SETUSER', 'crema-web', 'resetchannels');
  const { code } = await web.exitWithin(15_000);
  expect({ code, stderr: web.stderr.trimEnd().split('\n') }).toMatchObject({ code: 2, stderr: [expect.stringMatching(/REDIS_URL.*crema-web.*channel/)] });
  expect(web.logs, 'a stack trace').not.toMatch(/\n\s+at /);
});

it('logs, as its own words, that a user may not run INFO, and runs', async () => {
  await env.redis.client.call('ACL', 'SETUSER', 'crema-processor', 'reset', 'on', `>${PASSWORDS.processor}`, '~*', '&*', '+@all', '-info');
  const processor = started(new CremaProcess('process', ['--redis-url', stageUrl('processor'), '--prefix', env.redis.prefix]));
  await processor.waitForLog('lease taken');
  expect((await processor.terminate()).code).toBe(0);
  expect(processor.stderr).toBe('');
  expect(processor.logLines('redis user may not run INFO: not waiting for Redis to finish loading its data')).toHaveLength(1);
});
