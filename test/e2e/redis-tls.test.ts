/**
 * TLS to Redis: a redis-server that speaks TLS only and, as by default (`tls-auth-clients yes`),
 * asks every client for a certificate, with a CA made here by openssl. The collector and the
 * processor reach it with CREMA_REDIS_TLS_CA_FILE, _CERT_FILE and _KEY_FILE and count exactly; the
 * URL, with its password, comes from a file (REDIS_URL_FILE), as a Docker secret would. A CA that
 * did not sign the server's certificate, a host name the certificate does not name, and a missing
 * client certificate each stop the stage at start-up: exit 2, one line naming the setting to fix.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisKeys } from '../../core/keys.js';
import { windowStart } from '../../core/windows.js';
import { makeCa as makeCaIn } from '../support/certificates.js';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/files.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { countsOnly, expectedHash, expectedWindows, orderLines } from '../support/orders.js';
import { type LocalRedisServer, startLocalRedis } from '../support/servers.js';

const PASSWORD = 'tls-user-secret-6f0e1d2c';
const certs = tempDir();
const pem = (name: string) => certs.file(name);
let server: LocalRedisServer;
let admin: Redis;

/** A CA (`<name>-ca.crt`), and `names` certificates it signed, each `<cert>.crt`/`<cert>.key`, for `localhost` only. */
const makeCa = (name: string, signed: readonly string[]) => makeCaIn(certs.path, name, signed);

beforeAll(async () => {
  makeCa('crema', ['server', 'client']);
  makeCa('other', []);
  server = await startLocalRedis({
    persistent: false,
    tls: { cert: pem('server.crt'), key: pem('server.key'), ca: pem('crema-ca.crt'), client: { cert: pem('client.crt'), key: pem('client.key') } },
    args: ['--user', 'crema', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'],
  });
  admin = new Redis(server.url, {
    tls: { ca: readFileSync(pem('crema-ca.crt')), cert: readFileSync(pem('client.crt')), key: readFileSync(pem('client.key')), servername: 'localhost' },
  });
}, 60_000);
afterAll(async () => {
  admin?.disconnect();
  await server?.dispose();
  certs.remove();
});
const env = useTestEnvironment();

/** The URL in a file, and the TLS files: as `--redis-url-file` and variables, or (`urlFrom: 'env'`) all as variables. */
function tlsSettings(url: string, files: { ca?: string; cert?: string; key?: string } = {}, urlFrom: 'flag' | 'env' = 'flag') {
  const urlFile = env.dir.file('redis-url');
  writeFileSync(urlFile, `${url}\n`);
  const { ca = pem('crema-ca.crt'), cert = pem('client.crt'), key = pem('client.key') } = files;
  const variables: NodeJS.ProcessEnv = { CREMA_REDIS_TLS_CA_FILE: ca };
  if (cert !== '') variables.CREMA_REDIS_TLS_CERT_FILE = cert;
  if (key !== '') variables.CREMA_REDIS_TLS_KEY_FILE = key;
  if (urlFrom === 'env') return { flags: [], env: { ...variables, REDIS_URL: '', REDIS_URL_FILE: urlFile } };
  return { flags: ['--redis-url-file', urlFile], env: variables };
}

const localhost = () => `rediss://crema:${PASSWORD}@localhost:${server.port}`;

it('collects and counts over TLS with a client certificate, the URL read from a file', async () => {
  const prefix = `${env.redis.prefix}tls:`;
  const k = new RedisKeys(prefix);
  env.onCleanup(async () => {
    const leftovers = await admin.keys(`${prefix}*`);
    if (leftovers.length > 0) await admin.del(...leftovers);
  });
  const W = 1000;
  const lines = orderLines(2000, { seed: 5, firstStart: windowStart(Date.now(), W) - 30 * W, windows: 20, windowMs: W });
  const file = env.dir.file('orders.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const { env: stageEnv } = tlsSettings(localhost(), {}, 'env');

  const config = new CremaProcess('config', [], stageEnv);
  expect((await config.exitWithin(15_000)).code).toBe(0);
  expect(config.stdout).not.toContain(PASSWORD);
  expect(config.stdout).toMatch(new RegExp(`REDIS_URL\\s+rediss://crema:\\*\\*\\*@localhost:${server.port}\\s+\\(file ${env.dir.file('redis-url')}\\)`));
  expect(config.stdout).toMatch(/CREMA_REDIS_TLS_KEY_FILE\s+\S+client\.key\s+\(env\)/);
  expect(config.stdout).not.toContain('PRIVATE KEY');

  const collector = new CremaProcess('collect', ['--prefix', prefix, '--file', file], stageEnv);
  const processor = new CremaProcess('process', ['--prefix', prefix, '--window-seconds', '1', '--grace-seconds', '1', '--tick-ms', '200'], stageEnv);
  env.onCleanup(() => Promise.all([collector.kill9(), processor.kill9()]));
  const expected = expectedWindows(lines, W);
  await eventually(
    async () => {
      let total = 0;
      for (const start of expected.keys()) total += Number((await admin.hget(k.window(start), 'orders')) ?? 0);
      return total === lines.length && (await admin.llen(k.queue)) === 0;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: () => `not every order was counted over TLS; logs:\n${collector.logs.slice(-1500)}\n${processor.logs.slice(-1500)}` },
  );
  for (const [start, window] of expected) expect(countsOnly(await admin.hgetall(k.window(start)))).toEqual(expectedHash(window));
  const clients = String(await admin.client('LIST'));
  expect(clients).toMatch(/name=crema:collector:\S+ .*user=crema/);
  expect(clients).toMatch(/name=crema:processor:\S+ .*user=crema/);
  const exits = await Promise.all([collector.terminate(), processor.terminate()]);
  expect(exits.map((e) => e.code)).toEqual([0, 0]);
  expect(collector.stderr + processor.stderr).toBe('');
});

async function expectRefused(settings: ReturnType<typeof tlsSettings>, setting: RegExp): Promise<void> {
  const processor = new CremaProcess('process', ['--prefix', env.redis.prefix, ...settings.flags], settings.env);
  env.onCleanup(() => processor.kill9());
  const { code } = await processor.exitWithin(15_000);
  expect({ code, stderr: processor.stderr.trimEnd().split('\n') }).toMatchObject({ code: 2, stderr: [expect.stringMatching(setting)] });
  expect(processor.logs, 'a stack trace').not.toMatch(/\n\s+at /);
  expect(processor.logs).not.toContain(PASSWORD);
}

it('refuses a server whose certificate the CA did not sign: exit 2, naming CREMA_REDIS_TLS_CA_FILE', async () => {
  await expectRefused(tlsSettings(localhost(), { ca: pem('other-ca.crt') }), /CREMA_REDIS_TLS_CA_FILE.*other-ca\.crt/);
});

it('refuses a server whose certificate is for another name: exit 2, naming REDIS_URL and the name', async () => {
  await expectRefused(tlsSettings(`rediss://crema:${PASSWORD}@127.0.0.1:${server.port}`), /REDIS_URL.*127\.0\.0\.1.*localhost/);
});

it('says that the server wants a client certificate when none is given: exit 2, naming CREMA_REDIS_TLS_CERT_FILE', async () => {
  await expectRefused(tlsSettings(localhost(), { cert: '', key: '' }), /CREMA_REDIS_TLS_CERT_FILE/);
});
