/**
 * The settings every stage of a prefix shares (window size, grace, retention, catalog), kept in
 * `<prefix>settings` and wired as `crema process`, `crema serve` and `crema export` wire them:
 * the first processor stores them, a processor with a different explicit value refuses, one with
 * defaults adopts the stored values, and the web shows windows of the stored size without any
 * window setting of its own.
 */
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, catalogHash, catalogJson } from '../../core/catalog.js';
import { EnvelopeFramer } from '../../core/envelope.js';
import { ConfigError } from '../../core/errors.js';
import { createMetrics } from '../../core/metrics.js';
import { closeRedis } from '../../core/redis.js';
import { loadConfig } from '../../core/settings/index.js';
import { SharedSettingsError, sharedProposal, storeSharedSettings, waitForSharedSettings } from '../../core/shared-settings.js';
import type { Stage } from '../../core/stage.js';
import { windowStart } from '../../core/windows.js';
import { createExporter } from '../../exporter/main.js';
import { createCollector } from '../../collector/main.js';
import { createProcessor } from '../../processor/main.js';
import type { WindowsResponse } from '../../web/api-types.js';
import { createWeb } from '../../web/main.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { orderLines } from '../support/orders.js';

const env = useTestEnvironment();

/** A logger whose lines the test can read. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines, messages: () => lines.map((l) => String(l.msg)) };
}

function common(): string[] {
  return ['--redis-url', env.redis.url, '--prefix', env.redis.prefix];
}

/** `crema process` as the CLI wires it, in this process. */
function processor(flags: string[], environment: NodeJS.ProcessEnv = {}) {
  const captured = capturedLog();
  const config = loadConfig('process', [...common(), '--tick-ms', '100', ...flags], environment);
  const { processor: stage, redis } = createProcessor(config, captured.log, createMetrics('test-host'));
  env.onCleanup(() => closeRedis(redis));
  env.onCleanup(() => stage.close());
  return { stage, ...captured };
}

/** Runs a stage that is expected to refuse; returns its error. */
async function refusal(stage: Stage): Promise<SharedSettingsError> {
  const error = await stage.start().then(
    () => new Error('the stage started'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SharedSettingsError);
  return error as SharedSettingsError;
}

async function storedFields(): Promise<Record<string, string>> {
  return env.redis.client.hgetall(env.redis.keys.settings);
}

/** Frames order lines as the collector would and queues them. */
async function enqueue(lines: readonly string[]): Promise<void> {
  const framer = new EnvelopeFramer('test-host', '/orders.log', 'f.0');
  await env.redis.client.rpush(env.redis.keys.queue, ...lines.map((line, i) => framer.frame(i, Date.now(), line)));
}

describe('shared settings', () => {
  it('are stored by the first processor; a processor with another explicit window size refuses; one with defaults adopts them', async () => {
    const { keys } = env.redis;
    const first = processor(['--window-seconds', '2', '--retention-days', '1']);
    void first.stage.start();
    await eventually(async () => (await storedFields()).windowMs !== undefined, { message: 'the first processor stored no settings' });
    expect(await storedFields()).toEqual({
      windowMs: '2000',
      graceMs: '2000',
      retentionMs: '86400000',
      catalog: catalogJson(DEFAULT_CATALOG),
      catalogHash: catalogHash(DEFAULT_CATALOG),
      shards: '1',
    });
    await eventually(() => first.messages().includes('stored the shared settings of this prefix'), { message: 'the store was not logged' });

    // Explicit and different, by flag or by environment: refused, naming both values, the setting, the key and the way out.
    const byFlag = await refusal(processor(['--window-seconds', '5']).stage);
    expect(byFlag.problems).toHaveLength(1);
    expect(byFlag.problems[0]).toContain('CREMA_WINDOW_SECONDS (--window-seconds) is 5');
    expect(byFlag.problems[0]).toContain(`the window size stored in ${keys.settings} by the first processor on this prefix is 2`);
    expect(byFlag.problems[0]).toContain('CREMA_WINDOW_SECONDS=2');
    expect(byFlag.problems[0]).toContain(`redis-cli DEL ${keys.settings}`);
    const byEnv = await refusal(processor([], { CREMA_WINDOW_SECONDS: '5', CREMA_GRACE_SECONDS: '3' }).stage);
    expect(byEnv.problems.map((p) => p.split(' is ')[0])).toEqual(['CREMA_WINDOW_SECONDS (--window-seconds)', 'CREMA_GRACE_SECONDS (--grace-seconds)']);
    // Explicit and equal: runs.
    const same = processor(['--window-seconds', '2', '--retention-days', '1']);
    void same.stage.start();
    await eventually(() => same.messages().includes('lease taken: processing'), { message: 'a processor with the stored values did not run' });

    // Defaults: the stored values win, and the processor says which it adopted.
    await Promise.all([first.stage.close(), same.stage.close()]);
    const adopting = processor([]);
    void adopting.stage.start();
    await eventually(() => adopting.messages().includes('using the shared settings stored for this prefix instead of the defaults'), {
      message: () => `no adoption logged: ${adopting.messages().join(' | ')}`,
    });
    const adopted = adopting.lines.find((l) => l.msg === 'using the shared settings stored for this prefix instead of the defaults')!;
    expect(adopted.adopted).toEqual({ CREMA_WINDOW_SECONDS: '2', CREMA_GRACE_SECONDS: '2', CREMA_RETENTION_DAYS: '1' });
    expect(adopted.defaults).toEqual({ CREMA_WINDOW_SECONDS: '10', CREMA_GRACE_SECONDS: '10', CREMA_RETENTION_DAYS: '7' });
    // …and counts in 2-second windows: an order in the second half of a 10-second window lands in a window of its own.
    const start = windowStart(Date.now(), 10_000) - 10_000 + 6000;
    await enqueue(orderLines(25, { seed: 1, firstStart: start, windowMs: 2000, windows: 1 }));
    await eventually(async () => Number(await env.redis.client.hget(keys.window(start), 'orders')) === 25, { message: 'orders not counted in the 2 s window' });
    expect(await env.redis.client.zrange(keys.windows, '0', '-1')).toEqual([String(start)]);
  });

  it('refuse a processor or exporter whose catalog file is not the stored catalog; an exporter without one uses the stored catalog', async () => {
    const { keys } = env.redis;
    const path = env.dir.file('catalog.json');
    const teaShop = { coffeeTypes: ['Tea', 'Chai'], paymentMethods: ['Card'], ageGrades: ['all'] };
    writeFileSync(path, JSON.stringify(teaShop));
    const first = processor(['--catalog-file', path]);
    void first.stage.start();
    await eventually(async () => (await storedFields()).catalogHash === catalogHash(teaShop), { message: 'the catalog was not stored' });

    // The same values in another order are the same catalog.
    const reordered = env.dir.file('reordered.json');
    writeFileSync(reordered, JSON.stringify({ ...teaShop, coffeeTypes: ['Chai', 'Tea'] }));
    const same = processor(['--catalog-file', reordered]);
    void same.stage.start();
    await eventually(() => same.messages().includes('lease taken: processing'), { message: 'a processor with the same catalog did not run' });

    // A catalog file that cannot be read is a configuration error before any comparison.
    expect(() => processor([], { CREMA_CATALOG_FILE: env.dir.file('missing.json') })).toThrow(ConfigError);

    writeFileSync(env.dir.file('default.json'), JSON.stringify(DEFAULT_CATALOG));
    const differs = await refusal(processor(['--catalog-file', env.dir.file('default.json')]).stage);
    expect(differs.problems[0]).toContain(`CREMA_CATALOG_FILE (--catalog-file) is ${catalogHash(DEFAULT_CATALOG)}`);
    expect(differs.problems[0]).toContain(`is ${catalogHash(teaShop)}`);

    const exporterFlags = [...common(), '--influx-url', 'http://127.0.0.1:9', '--metrics-port', '0'];
    const exporterLog = capturedLog();
    const exporter = createExporter(loadConfig('export', [...exporterFlags, '--catalog-file', env.dir.file('default.json')], {}), exporterLog.log, createMetrics('test-host'));
    env.onCleanup(() => closeRedis(exporter.redis));
    env.onCleanup(() => exporter.exporter.close());
    expect((await refusal(exporter.exporter)).problems[0]).toMatch(/^CREMA_CATALOG_FILE \(--catalog-file\) is sha256:/);

    // What the exporter's wiring does when it has no catalog file: it reads the stored one.
    const reader = await env.redis.connected('reader');
    const shared = await waitForSharedSettings({
      redis: reader,
      keys,
      log: exporterLog.log,
      signal: new AbortController().signal,
      proposal: sharedProposal(loadConfig('export', exporterFlags, {}), ['catalog']),
    });
    expect(shared.catalog).toEqual(teaShop);
  });

  it('give crema serve its window size: 503 until a processor stored it, then windows of the stored size', async () => {
    const { keys } = env.redis;
    expect(() => loadConfig('serve', ['--window-seconds', '2'], {})).toThrow(/Unknown option '--window-seconds'/);
    const webLog = capturedLog();
    const { web, connections } = createWeb(loadConfig('serve', [...common(), '--web-port', '0', '--web-host', '127.0.0.1'], {}), webLog.log, createMetrics('test-host'));
    env.onCleanup(async () => Promise.all(connections.map((c) => closeRedis(c))));
    env.onCleanup(() => web.close());
    void web.start();
    const url = await web.url();
    await eventually(() => webLog.messages().includes('waiting for a processor to store the shared settings'), { message: 'the wait was not logged' });
    // Redis is up, but no processor has run on the prefix: the API says so.
    await eventually(async () => (await fetch(`${url}/api/windows`)).status === 503, { message: 'no 503 before the settings' });
    const pending = await fetch(`${url}/api/windows`);
    expect(pending.headers.get('retry-after')).toBe('2');
    expect(await pending.json()).toEqual({ reason: 'no_shared_settings', error: expect.stringContaining(keys.settings) });

    // A processor starts with 3-second windows and counts some orders.
    const running = processor(['--window-seconds', '3']);
    void running.stage.start();
    const start = windowStart(Date.now(), 3000) - 3000;
    await enqueue(orderLines(40, { seed: 2, firstStart: start, windowMs: 3000, windows: 1 }));
    await eventually(async () => Number(await env.redis.client.hget(keys.window(start), 'orders')) === 40, { message: 'orders not counted' });

    let body: WindowsResponse | undefined;
    await eventually(
      async () => {
        const response = await fetch(`${url}/api/windows`);
        body = response.status === 200 ? ((await response.json()) as WindowsResponse) : undefined;
        return body !== undefined && body.windows.length > 0;
      },
      { message: 'the web never served the windows' },
    );
    expect(body!.windowMs).toBe(3000);
    expect(body!.windows.map((w) => [w.start, w.end - w.start, w.orders])).toEqual([[start, 3000, 40]]);
    expect(webLog.messages().filter((m) => m === 'waiting for a processor to store the shared settings')).toHaveLength(1);
  });

  it('are written by exactly one of two processors racing with different explicit values', async () => {
    const { keys, client } = env.redis;
    const log = pino({ level: 'silent' });
    const attempt = (windowSeconds: number) => {
      const config = loadConfig('process', [...common(), '--window-seconds', String(windowSeconds)], {});
      return storeSharedSettings({ redis: client as Redis, keys, log, signal: new AbortController().signal, proposal: sharedProposal(config, ['windowMs', 'graceMs', 'retentionMs', 'catalog']) });
    };
    const results = await Promise.allSettled([attempt(4), attempt(6)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ windowMs: number }>).value.windowMs;
    expect(await storedFields()).toMatchObject({ windowMs: String(winner), graceMs: String(winner) });
  });

  it('keep the shard count: the first collector stores it, a processor with another count refuses, one with the default follows it', async () => {
    const captured = capturedLog();
    const file = env.dir.file('orders.jsonl');
    writeFileSync(file, `${orderLines(5, { seed: 9, firstStart: windowStart(Date.now(), 2000), windowMs: 2000, windows: 1 }).join('\n')}\n`);
    const config = loadConfig('collect', [...common(), '--shards', '3', '--file', file], {});
    const { collector, redis } = createCollector(config, captured.log, createMetrics('test-host'));
    env.onCleanup(() => closeRedis(redis));
    env.onCleanup(() => collector.close());
    void collector.start();
    await eventually(async () => (await storedFields()).shards === '3', { message: 'the collector did not store the shard count' });
    // Only the shard count: the window settings are the first processor's to store.
    expect(Object.keys(await storedFields())).toEqual(['shards']);
    // The file's lines went to the queue of the shard its host and path hash to, under that shard's hash tag.
    const queued = async () => {
      const lengths = await Promise.all([0, 1, 2].map((shard) => env.redis.client.llen(`{${env.redis.prefix}${shard}}:orders`)));
      return lengths;
    };
    await eventually(async () => (await queued()).reduce((a, b) => a + b, 0) === 5, { message: 'the lines were not queued' });
    expect((await queued()).filter((n) => n > 0)).toEqual([5]);

    const wrong = await refusal(processor(['--shards', '2']).stage);
    expect(wrong.problems[0]).toContain('CREMA_SHARDS (--shards) is 2');
    expect(wrong.problems[0]).toContain(`the shard count stored in ${env.redis.keys.settings} by the first collector or processor on this prefix is 3`);
    expect(wrong.problems[0]).toContain('docs/scaling.md');

    const follower = processor([]);
    void follower.stage.start();
    await eventually(() => follower.messages().includes('using the shared settings stored for this prefix instead of the defaults'), { message: 'the default shard count was not replaced' });
    // Its processors drain every shard's queue.
    await eventually(async () => (await queued()).every((n) => n === 0), { message: 'the shards were not drained' });
  });
});
