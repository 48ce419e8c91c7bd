import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, catalogHash } from '../../core/catalog.js';
import { SETTINGS, describeConfig, loadConfig, loadSettings, maskUrl, settingsMarkdown } from '../../core/settings/index.js';
import { ConfigError } from '../../core/errors.js';
import { metricsEndpoint } from '../../web/security.js';

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig('up', [], {});
    expect(config).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      prefix: 'coffee:',
      windowMs: 10_000,
      graceMs: 10_000,
      retentionMs: 7 * 86_400_000,
      rate: 40,
      files: ['./data/orders.jsonl'],
      from: 'beginning',
      catalog: DEFAULT_CATALOG,
    });
    expect(config.sources.redisUrl).toBe('default');
  });

  it('takes the environment, and flags over the environment', () => {
    const env = { REDIS_URL: 'rediss://:pw@cache:6380/2', CREMA_PREFIX: 'shop:', CREMA_WINDOW_SECONDS: '60', CREMA_FILES: 'a.log,b.log' };
    const config = loadConfig('up', ['--window-seconds', '5', '--grace-seconds', '0'], env);
    expect(config.redisUrl).toBe('rediss://:pw@cache:6380/2');
    expect(config.prefix).toBe('shop:');
    expect(config.windowMs).toBe(5000);
    expect(config.graceMs).toBe(0);
    expect(config.files).toEqual(['a.log', 'b.log']);
    expect(config.sources).toMatchObject({ redisUrl: 'env', windowMs: 'flag', graceMs: 'flag', rate: 'default' });
    expect(loadConfig('collect', ['--file', 'x.log', '--file', 'y.log'], env).files).toEqual(['x.log', 'y.log']);
  });

  it('names every bad setting at once', () => {
    const found = problems(() =>
      loadConfig('process', [], { REDIS_URL: 'http://localhost', CREMA_WINDOW_SECONDS: '0', CREMA_LEASE_SECONDS: 'ten', CREMA_CONSUMER: 'a b' }),
    );
    expect(found).toEqual([
      'REDIS_URL (--redis-url): must be a redis:// or rediss:// URL, such as redis://:password@host:6379/0',
      'CREMA_WINDOW_SECONDS (--window-seconds): must be at least 1; got "0"',
      'CREMA_CONSUMER (--consumer): may contain only letters, digits and _ . : @ -; got "a b"',
      'CREMA_LEASE_SECONDS (--lease-seconds): must be a whole number; got "ten"',
    ]);
  });

  it('rejects flags the command does not take, and stray arguments', () => {
    expect(problems(() => loadConfig('collect', ['--rate', '5'], {}))[0]).toMatch(/Unknown option '--rate'/);
    expect(problems(() => loadConfig('process', ['extra'], {}))[0]).toMatch(/extra/);
    expect(problems(() => loadConfig('generate', ['--file', 'a', '--file', 'b'], {}))[0]).toMatch(/writes one file/);
  });

  it('never shows a password', () => {
    const text = describeConfig(loadSettings('up', ['--redis-url', 'redis://user:s3cret@host:6379', '--alerts-token', 'a-very-long-s3cret-token'], {}));
    expect(text).not.toContain('s3cret');
    expect(text).toContain('redis://user:***@host:6379');
    expect(text).toMatch(/CREMA_ALERTS_TOKEN\s+\*\*\*  \(flag\)/);
    expect(maskUrl('not a url')).toBe('***');
    expect(problems(() => loadConfig('up', ['--redis-url', 'http://u:s3cret@h'], {})).join()).not.toContain('s3cret');
    expect(problems(() => loadConfig('serve', ['--alerts-token', 'short-s3cret'], {})).join()).not.toContain('s3cret');
  });

  it('converts each value to the units the stages use', () => {
    const config = loadConfig(
      'up',
      ['--window-seconds', '30', '--retention-days', '0.5', '--lease-seconds', '4', '--stream-buffer-kb', '64', '--heartbeat-seconds', '2'],
      { CREMA_MAX_CLOCK_SKEW_SECONDS: '7', INFLUX_URL: 'http://influx:8086', INFLUX_TIMEOUT_SECONDS: '1.5', CREMA_PROVISIONAL_SECONDS: '0.2' },
    );
    expect(config).toMatchObject({
      windowMs: 30_000,
      graceMs: 30_000,
      retentionMs: 43_200_000,
      leaseMs: 4000,
      maxClockSkewMs: 7000,
      streamBufferBytes: 64 * 1024,
      heartbeatMs: 2000,
      influxTimeoutMs: 1500,
      provisionalMs: 200,
      influxToken: '',
      corsOrigins: [],
      seed: undefined,
    });
  });

  it('takes the grace from the window size only when the grace is not given', () => {
    expect(loadConfig('process', ['--window-seconds', '5'], {}).graceMs).toBe(5000);
    expect(loadConfig('process', ['--window-seconds', '5'], { CREMA_GRACE_SECONDS: '2' }).graceMs).toBe(2000);
    const loaded = loadSettings('process', [], { CREMA_WINDOW_SECONDS: '20' });
    expect(loaded.config.graceMs).toBe(20_000);
    expect(loaded.config.sources.graceMs).toBe('default');
    // A bad window size is one problem, not two.
    expect(problems(() => loadConfig('process', ['--window-seconds', 'x'], {}))).toHaveLength(1);
  });

  it('reads only the settings of the command, whatever else the environment holds', () => {
    const env = { CREMA_WINDOW_SECONDS: 'not a number', CREMA_RATE: '5', CREMA_POLL_MS: '500' };
    const config = loadConfig('collect', [], env);
    expect(config.pollMs).toBe(500);
    expect(config.windowMs).toBe(10_000);
    expect(config.sources.windowMs).toBe('default');
    expect(config.rate).toBe(40);
    expect(problems(() => loadConfig('process', [], env))[0]).toMatch(/^CREMA_WINDOW_SECONDS/);
  });

  it('shows each value in the units it is given in, and where it came from', () => {
    const text = describeConfig(loadSettings('config', ['--window-seconds', '30', '--stream-buffer-kb', '64'], { CREMA_RETENTION_DAYS: '0.5' }));
    const row = (env: string) => text.split('\n').find((line) => line.startsWith(`${env} `))?.replace(/\s+/g, ' ');
    expect(row('CREMA_WINDOW_SECONDS')).toBe('CREMA_WINDOW_SECONDS 30 (flag)');
    expect(row('CREMA_GRACE_SECONDS')).toBe('CREMA_GRACE_SECONDS 30 (default)');
    expect(row('CREMA_RETENTION_DAYS')).toBe('CREMA_RETENTION_DAYS 0.5 (env)');
    expect(row('CREMA_STREAM_BUFFER_KB')).toBe('CREMA_STREAM_BUFFER_KB 64 (flag)');
    expect(row('CREMA_SEED')).toBe('CREMA_SEED (random) (default)');
    expect(row('INFLUX_TOKEN')).toBe('INFLUX_TOKEN (none) (default)');
    expect(row('CREMA_CATALOG_FILE')).toBe(`CREMA_CATALOG_FILE (built in) ${catalogHash(DEFAULT_CATALOG)} (default)`);
    // One line per setting of the table, in its order.
    expect(text.split('\n').map((line) => line.split(' ')[0])).toEqual(Object.values(SETTINGS).map((s) => s.env));
  });

  it('loads a catalog file and explains what is wrong with one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crema-catalog-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ coffeeTypes: ['Tea'], paymentMethods: ['Card'], ageGrades: ['all'] }));
    expect(loadConfig('process', ['--catalog-file', good], {}).catalog.coffeeTypes).toEqual(['Tea']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ coffeeTypes: [], paymentMethods: ['Card'], ageGrades: ['all'], extra: 1 }));
    expect(problems(() => loadConfig('process', ['--catalog-file', bad], {}))).toEqual([
      `CREMA_CATALOG_FILE (--catalog-file): ${bad}: catalog: Unrecognized key: "extra"`,
    ]);
    expect(problems(() => loadConfig('process', ['--catalog-file', join(dir, 'missing.json')], {}))[0]).toMatch(/cannot read/);
  });

  it('requires an alerts token when the web server listens beyond loopback, and only then', () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10', 'crema.example']) {
      for (const command of ['serve', 'up'] as const) {
        expect(problems(() => loadConfig(command, ['--web-host', host], {}))).toEqual([
          `CREMA_ALERTS_TOKEN (--alerts-token): required when the web server listens beyond loopback (CREMA_WEB_HOST=${host}), or anyone who can reach it could post alerts to the page; set a random token of at least 16 characters (such as \`openssl rand -hex 24\`) and give Alertmanager the same, or listen on 127.0.0.1`,
        ]);
      }
      expect(loadConfig('serve', ['--web-host', host, '--alerts-token', 'alerts-token-0123456789'], {}).alertsToken).toBe('alerts-token-0123456789');
    }
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(loadConfig('serve', ['--web-host', host], {}).alertsToken).toBeUndefined();
    // Other commands do not serve the page; `crema config` shows what was asked for.
    expect(loadConfig('process', [], { CREMA_WEB_HOST: '0.0.0.0' }).command).toBe('process');
    expect(loadConfig('config', ['--web-host', '0.0.0.0'], {}).webHost).toBe('0.0.0.0');
  });

  it('reads the trust-proxy setting as Express takes it, and refuses to trust every address', () => {
    expect(loadConfig('serve', [], {}).trustProxy).toBe(false);
    expect(loadConfig('serve', ['--trust-proxy', '1'], {}).trustProxy).toBe(1);
    expect(loadConfig('serve', [], { CREMA_TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::1']);
    expect(loadConfig('up', ['--trust-proxy', 'off'], {}).trustProxy).toBe(false);
    expect(problems(() => loadConfig('serve', ['--trust-proxy', 'true'], {}))[0]).toMatch(/^CREMA_TRUST_PROXY \(--trust-proxy\): must not trust every address/);
    expect(problems(() => loadConfig('serve', ['--trust-proxy', '10.0.0.0/33'], {}))[0]).toMatch(/CREMA_TRUST_PROXY .*10\.0\.0\.0\/33/);
    expect(problems(() => loadConfig('serve', ['--trust-proxy', 'proxy.example'], {}))[0]).toMatch(/neither an address/);
    expect(describeConfig(loadSettings('serve', ['--trust-proxy', '2'], {}))).toMatch(/CREMA_TRUST_PROXY\s+2\s+\(flag\)/);
  });

  it('serves /metrics on the page port on loopback, and beyond loopback only with a token or when told to', () => {
    const token = { CREMA_ALERTS_TOKEN: 'alerts-token-0123456789' };
    const endpoint = (argv: string[], env: NodeJS.ProcessEnv = {}) => metricsEndpoint(loadConfig('serve', argv, env));
    expect(endpoint([])).toBe('on');
    expect(endpoint(['--web-host', '::1'])).toBe('on');
    expect(endpoint(['--web-host', '0.0.0.0'], token)).toBe('off');
    const guarded = loadSettings('serve', ['--web-host', '0.0.0.0', '--web-metrics-token', 'metrics-token-0123456789'], token);
    expect(metricsEndpoint(guarded.config)).toBe('on');
    expect(guarded.config.webMetricsToken).toBe('metrics-token-0123456789');
    expect(endpoint(['--web-host', '0.0.0.0', '--web-metrics', 'on'], token)).toBe('on');
    expect(endpoint(['--web-metrics', 'off'])).toBe('off');
    expect(problems(() => loadConfig('serve', ['--web-metrics', 'maybe'], {}))[0]).toMatch(/^CREMA_WEB_METRICS \(--web-metrics\)/);
    expect(problems(() => loadConfig('serve', ['--web-metrics-token', 'short'], {}))[0]).toMatch(/at least 16/);
    const shown = describeConfig(guarded);
    expect(shown).not.toContain('metrics-token-0123456789');
    expect(shown).toMatch(/CREMA_WEB_METRICS_TOKEN\s+\*\*\*/);
    expect(describeConfig(loadSettings('serve', [], {}))).toMatch(/CREMA_WEB_METRICS_TOKEN\s+\(none\)/);
  });

  it('masks passwords wherever a URL holds them: user info and query string', () => {
    expect(maskUrl('redis://crema-web:s3cret@cache:6379/2?password=s3cret&db=2')).toBe('redis://crema-web:***@cache:6379/2?password=***&db=2');
    expect(maskUrl('rediss://cache:6380?username=crema&pass=s3cret')).toBe('rediss://cache:6380?username=crema&pass=***');
    expect(maskUrl('http://influxdb:8086/?token=s3cret&access_key=s3cret&org=shop')).toBe('http://influxdb:8086/?token=***&access_key=***&org=shop');
    const shown = describeConfig(loadSettings('up', ['--redis-url', 'redis://cache:6379?password=s3cret', '--influx-url', 'http://influx:8086?token=s3cret'], {}));
    expect(shown).not.toContain('s3cret');
  });

  it('reads every secret from the file its _FILE variable or --…-file flag names, without the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crema-secrets-'));
    const file = (name: string, content: string) => {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    };
    const env = {
      REDIS_URL_FILE: file('redis-url', 'redis://crema-web:url-s3cret@cache:6379\n'),
      CREMA_ALERTS_TOKEN_FILE: file('alerts', 'alerts-token-s3cret-0123456789\r\n'),
      CREMA_WEB_METRICS_TOKEN_FILE: file('metrics', 'metrics-token-s3cret-0123456789\n\n'),
      INFLUX_TOKEN_FILE: file('influx', 'crema:influx-s3cret'),
    };
    const loaded = loadSettings('up', ['--influx-url', 'http://influx:8086'], env);
    expect(loaded.config).toMatchObject({
      redisUrl: 'redis://crema-web:url-s3cret@cache:6379',
      alertsToken: 'alerts-token-s3cret-0123456789',
      webMetricsToken: 'metrics-token-s3cret-0123456789',
      influxToken: 'crema:influx-s3cret',
    });
    expect(loaded.config.sources).toMatchObject({ redisUrl: 'file', alertsToken: 'file', webMetricsToken: 'file', influxToken: 'file' });
    const shown = describeConfig(loaded);
    expect(shown).not.toContain('s3cret');
    expect(shown).toMatch(new RegExp(`REDIS_URL\\s+redis://crema-web:\\*\\*\\*@cache:6379\\s+\\(file ${env.REDIS_URL_FILE}\\)`));
    expect(shown).toMatch(new RegExp(`CREMA_ALERTS_TOKEN\\s+\\*\\*\\*\\s+\\(file ${env.CREMA_ALERTS_TOKEN_FILE}\\)`));
    // The flag form, and every secret of the table has both.
    expect(loadConfig('serve', ['--alerts-token-file', env.CREMA_ALERTS_TOKEN_FILE], {}).alertsToken).toBe('alerts-token-s3cret-0123456789');
    for (const s of Object.values(SETTINGS).filter((s) => s.secret)) {
      const text = file(`${s.env}-secret`, s.env.startsWith('REDIS_') ? 'redis://h:6379\n' : 'a-secret-of-enough-length-0123\n');
      expect(loadSettings('config', [], { [`${s.env}_FILE`]: text }).resolved, s.env).toMatchObject(
        Object.fromEntries(Object.entries(SETTINGS).filter(([, t]) => t === s).map(([key]) => [key, { source: 'file', file: text }])),
      );
    }
  });

  it('names the variable of a secret file it cannot use, never what the file holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crema-secrets-'));
    const short = join(dir, 'short');
    writeFileSync(short, 'short-s3cret\n');
    const badUrl = join(dir, 'url');
    writeFileSync(badUrl, 'http://user:s3cret@cache\n');
    const found = problems(() =>
      loadConfig('serve', [], { CREMA_ALERTS_TOKEN_FILE: short, REDIS_URL_FILE: badUrl, CREMA_WEB_METRICS_TOKEN_FILE: join(dir, 'missing') }),
    );
    expect(found).toEqual([
      `REDIS_URL_FILE (--redis-url-file) (${badUrl}): must be a redis:// or rediss:// URL, such as redis://:password@host:6379/0`,
      `CREMA_ALERTS_TOKEN_FILE (--alerts-token-file) (${short}): must be at least 16 characters`,
      `CREMA_WEB_METRICS_TOKEN_FILE (--web-metrics-token-file): cannot read ${join(dir, 'missing')} (ENOENT)`,
    ]);
    expect(problems(() => loadConfig('serve', [], { REDIS_URL: 'redis://h:1', REDIS_URL_FILE: badUrl }))).toEqual(['REDIS_URL and REDIS_URL_FILE are both given; give one']);
    expect(problems(() => loadConfig('serve', ['--alerts-token', 'x'.repeat(20), '--alerts-token-file', short], {}))).toEqual([
      '--alerts-token and --alerts-token-file are both given; give one',
    ]);
    // Settings that are not secrets have no file form.
    expect(problems(() => loadConfig('collect', ['--prefix-file', short], {}))[0]).toMatch(/Unknown option '--prefix-file'/);
  });

  it('checks the TLS files at start-up: readable, what they claim, together, and only with rediss://', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crema-tls-'));
    const notPem = join(dir, 'ca.crt');
    writeFileSync(notPem, 'not a certificate\n');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = join(dir, 'client.key');
    writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problems(() => loadConfig('process', ['--redis-url', 'rediss://cache:6380', '--redis-tls-ca-file', notPem], {}))).toEqual([
      `CREMA_REDIS_TLS_CA_FILE (--redis-tls-ca-file): ${notPem} does not hold a PEM certificate`,
    ]);
    expect(problems(() => loadConfig('process', ['--redis-url', 'rediss://cache:6380', '--redis-tls-cert-file', join(dir, 'none.crt')], {}))).toEqual([
      `CREMA_REDIS_TLS_CERT_FILE (--redis-tls-cert-file): cannot read ${join(dir, 'none.crt')} (ENOENT)`,
    ]);
    expect(problems(() => loadConfig('process', ['--redis-url', 'rediss://cache:6380', '--redis-tls-key-file', key], {}))).toEqual([
      'CREMA_REDIS_TLS_KEY_FILE (--redis-tls-key-file): CREMA_REDIS_TLS_CERT_FILE and CREMA_REDIS_TLS_KEY_FILE go together: give both or neither',
    ]);
    expect(problems(() => loadConfig('process', ['--redis-url', 'redis://cache:6379', '--redis-tls-key-file', key], {}))[0]).toMatch(/KEY_FILE.*go together/);
    expect(problems(() => loadConfig('process', ['--redis-url', 'rediss://cache:6380', '--redis-tls-ca-file', key], {})).join()).not.toContain('PRIVATE KEY');
    // Without files, rediss:// trusts the system's CAs and shows no client certificate.
    const config = loadConfig('serve', ['--redis-url', 'rediss://cache:6380'], {});
    expect([config.redisTlsCa, config.redisTlsCert, config.redisTlsKey]).toEqual([undefined, undefined, undefined]);
  });

  it('documents every setting in the README table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(settingsMarkdown());
  });
});
