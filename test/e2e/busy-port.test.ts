/**
 * A port that is taken stops the real `crema` command before it has done anything: one line that
 * names the setting, exit code 2, no stack trace.
 */
import { existsSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { useTestEnvironment } from '../support/fixtures.js';

const env = useTestEnvironment();
let holder: Server;
let port: number;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  port = (holder.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
});

async function run(command: string, flags: string[]): Promise<{ code: number | null; output: string }> {
  const redis = command === 'generate' ? [] : ['--redis-url', env.redis.url, '--prefix', env.redis.prefix];
  const child = new CremaProcess(command, [...redis, ...flags]);
  const { code } = await child.exited;
  return { code, output: child.logs };
}

function expectNamed(result: { code: number | null; output: string }, command: string, setting: string, flag: string): void {
  expect(result.code, result.output).toBe(2);
  expect(result.output).toContain(`crema ${command}: ${setting} (--${flag}): port ${port} on 127.0.0.1 is already in use`);
  expect(result.output, 'a stack trace').not.toMatch(/^\s+at /m);
  expect(result.output.trim().split('\n'), 'one line').toHaveLength(1);
}

describe('a port in use', () => {
  it('crema serve names CREMA_WEB_PORT', async () => {
    expectNamed(await run('serve', ['--web-port', String(port)]), 'serve', 'CREMA_WEB_PORT', 'web-port');
  });

  it('crema collect names CREMA_METRICS_PORT', async () => {
    expectNamed(await run('collect', ['--metrics-port', String(port), '--file', env.dir.file('orders.jsonl')]), 'collect', 'CREMA_METRICS_PORT', 'metrics-port');
  });

  it('crema generate names CREMA_METRICS_PORT and writes nothing', async () => {
    const file = env.dir.file('orders.jsonl');
    expectNamed(await run('generate', ['--metrics-port', String(port), '--file', file]), 'generate', 'CREMA_METRICS_PORT', 'metrics-port');
    expect(existsSync(file)).toBe(false);
  });

  it('crema up says which of its ports was taken, before any stage started', async () => {
    const file = env.dir.file('orders.jsonl');
    const flags = ['--file', file, '--rate', '1000'];
    expectNamed(await run('up', [...flags, '--web-port', String(port)]), 'up', 'CREMA_WEB_PORT', 'web-port');
    expectNamed(await run('up', [...flags, '--metrics-port', String(port)]), 'up', 'CREMA_METRICS_PORT', 'metrics-port');
    expect(existsSync(file), 'the generator ran').toBe(false);
    expect(await env.redis.client.exists(env.redis.keys.offsets, env.redis.keys.queue)).toBe(0);
  });
});
