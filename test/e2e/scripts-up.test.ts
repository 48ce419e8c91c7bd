/**
 * `scripts/up`, the quick start: says what it does, does not rebuild an up-to-date dist/, warns
 * when it uses a Redis it did not start (and under which prefix Crema writes there), says that
 * Ctrl-C stops it, and does stop on Ctrl-C (SIGINT to its process group, as a terminal sends it).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAMP = fileURLToPath(new URL('../../scripts/build-stamp.mjs', import.meta.url));
const env = useTestEnvironment();
let child: ChildProcess | undefined;

afterEach(async () => {
  // Only the process group this test started.
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  }
  child = undefined;
});

describe('scripts/up', () => {
  it('reuses the build, warns about a Redis it did not start, says Ctrl-C stops it, and stops on Ctrl-C', async () => {
    const { redis: t, dir } = env;
    // The suite's global setup built dist/; were it stale, the script would rebuild it under the
    // feet of the other tests, so stop here instead.
    execFileSync(process.execPath, [STAMP, 'check']);
    child = spawn('bash', ['scripts/up', '--rate', '50'], {
      cwd: ROOT,
      detached: true, // its own process group, like a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        REDIS_URL: t.url,
        CREMA_PREFIX: t.prefix,
        CREMA_FILES: dir.file('data/orders.jsonl'),
        CREMA_WEB_PORT: '0',
        CREMA_METRICS_PORT: '0',
        CREMA_LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    await eventually(() => output.includes('serving the live page'), {
      timeoutMs: 60_000,
      message: () => `crema up did not start; output:\n${output}`,
    });
    // Orders flow into this test's prefix of the Redis the script was given.
    await eventually(async () => (await t.client.hlen(t.keys.offsets)) > 0, { timeoutMs: 20_000, message: () => `nothing collected; output:\n${output}` });

    const before = output.slice(0, output.indexOf('{"level"'));
    expect(before).toMatch(/build is up to date/);
    expect(before).not.toMatch(/building/i);
    expect(before).toContain(`using the Redis at ${t.url}, which this script did not start`);
    expect(before).toContain(`prefix "${t.prefix}"`);
    expect(before).toMatch(/Ctrl-C stops it/);

    process.kill(-child.pid!, 'SIGINT');
    expect(await exited, output).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  });
});

describe('the demo files', () => {
  it('are not tracked by git', () => {
    const ignored = readFileSync(`${ROOT}.gitignore`, 'utf8').split('\n');
    expect(ignored).toContain('data/');
  });
});

describe('scripts/build-stamp.mjs', () => {
  it('tells whether dist/ was built from the sources as they are', () => {
    const root = env.dir.path;
    mkdirSync(`${root}/core`);
    mkdirSync(`${root}/dist`);
    writeFileSync(`${root}/package.json`, '{}');
    writeFileSync(`${root}/core/a.ts`, 'export const a = 1;\n');
    const check = () => {
      try {
        execFileSync(process.execPath, [STAMP, 'check', '--root', root]);
        return 'up to date';
      } catch {
        return 'stale';
      }
    };
    expect(check()).toBe('stale'); // never built
    execFileSync(process.execPath, [STAMP, 'write', '--root', root]);
    expect(check()).toBe('up to date');
    writeFileSync(`${root}/core/a.ts`, 'export const a = 2;\n');
    expect(check()).toBe('stale');
    writeFileSync(`${root}/core/a.ts`, 'export const a = 1;\n');
    expect(check()).toBe('up to date');
    writeFileSync(`${root}/core/b.ts`, '');
    expect(check()).toBe('stale');
  });
});
