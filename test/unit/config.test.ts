import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, maskUrl, settingsMarkdown } from '../../core/config.js';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { ConfigError } from '../../core/errors.js';

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
    expect(config.sources).toMatchObject({ redisUrl: 'env', windowSeconds: 'flag', rate: 'default' });
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
    const config = loadConfig('up', ['--redis-url', 'redis://user:s3cret@host:6379'], {});
    expect(describeConfig(config)).not.toContain('s3cret');
    expect(describeConfig(config)).toContain('redis://user:***@host:6379');
    expect(maskUrl('not a url')).toBe('***');
    expect(problems(() => loadConfig('up', ['--redis-url', 'http://u:s3cret@h'], {})).join()).not.toContain('s3cret');
  });

  it('loads a catalog file and explains what is wrong with one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crema-catalog-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ coffeeTypes: ['Tea'], paymentMethods: ['Card'], ageGrades: ['all'] }));
    expect(loadConfig('process', ['--catalog-file', good], {}).catalog.coffeeTypes).toEqual(['Tea']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ coffeeTypes: [], paymentMethods: ['Card'], ageGrades: ['all'], extra: 1 }));
    expect(problems(() => loadConfig('process', ['--catalog-file', bad], {}))[0]).toMatch(/CREMA_CATALOG_FILE .*bad\.json/);
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
    expect(describeConfig(loadConfig('serve', ['--trust-proxy', '2'], {}))).toMatch(/CREMA_TRUST_PROXY\s+2\s+\(flag\)/);
  });

  it('serves /metrics on the page port on loopback, and beyond loopback only with a token or when told to', () => {
    const token = { CREMA_ALERTS_TOKEN: 'alerts-token-0123456789' };
    expect(loadConfig('serve', [], {}).webMetrics).toBe('on');
    expect(loadConfig('serve', ['--web-host', '::1'], {}).webMetrics).toBe('on');
    expect(loadConfig('serve', ['--web-host', '0.0.0.0'], token).webMetrics).toBe('off');
    const guarded = loadConfig('serve', ['--web-host', '0.0.0.0', '--web-metrics-token', 'metrics-token-0123456789'], token);
    expect(guarded).toMatchObject({ webMetrics: 'on', webMetricsToken: 'metrics-token-0123456789' });
    expect(loadConfig('serve', ['--web-host', '0.0.0.0', '--web-metrics', 'on'], token).webMetrics).toBe('on');
    expect(loadConfig('serve', ['--web-metrics', 'off'], {}).webMetrics).toBe('off');
    expect(problems(() => loadConfig('serve', ['--web-metrics', 'maybe'], {}))[0]).toMatch(/^CREMA_WEB_METRICS \(--web-metrics\)/);
    expect(problems(() => loadConfig('serve', ['--web-metrics-token', 'short'], {}))[0]).toMatch(/at least 16/);
    const shown = describeConfig(guarded);
    expect(shown).not.toContain('metrics-token-0123456789');
    expect(shown).toMatch(/CREMA_WEB_METRICS_TOKEN\s+\*\*\*/);
    expect(describeConfig(loadConfig('serve', [], {}))).toMatch(/CREMA_WEB_METRICS_TOKEN\s+\(none\)/);
  });

  it('documents every setting in the README table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(settingsMarkdown());
  });
});
