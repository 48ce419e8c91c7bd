/**
 * `crema serve` as a real process: what it refuses at start-up, and what its log shows (and must
 * not show) when clients behind proxies or Alertmanager talk to it.
 */
import { expect, it } from 'vitest';
import { CremaProcess } from '../support/crema-process.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { freePort } from '../support/servers.js';

const env = useTestEnvironment();

function serve(flags: readonly string[] = [], extraEnv: NodeJS.ProcessEnv = {}): { process: CremaProcess; url: Promise<string> } {
  const { redis: t } = env;
  const portPromise = freePort();
  let process!: CremaProcess;
  const url = portPromise.then(async (port) => {
    process = new CremaProcess('serve', ['--redis-url', t.url, '--prefix', t.prefix, '--web-port', String(port), ...flags], extraEnv);
    await process.waitForLog('serving the live page');
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${url}/healthz`)).status === 200, { message: 'crema serve never became healthy' });
    return url;
  });
  return {
    get process() {
      return process;
    },
    url,
  };
}

/** Log lines that are errors or carry a stack trace. */
function errorLines(logs: string): string[] {
  return logs.split('\n').filter((line) => /"level":"(error|fatal)"|ValidationError|ERR_ERL_|\n\s+at |^\s+at /.test(line));
}

it.each([
  ['without trust proxy', []],
  ['with trust proxy', ['--trust-proxy', '1']],
])('logs no error for a request carrying X-Forwarded-For %s', async (_name, flags) => {
  const server = serve(flags);
  const url = await server.url;
  try {
    for (const forwarded of ['203.0.113.9', '203.0.113.9, 198.51.100.2', 'not-an-address']) {
      const response = await fetch(`${url}/api/windows`, { headers: { 'x-forwarded-for': forwarded } });
      expect(response.status).toBe(200);
    }
    expect((await fetch(`${url}/api/windows`, { headers: { forwarded: 'for=203.0.113.9;proto=https' } })).status).toBe(200);
    expect((await server.process.terminate()).code).toBe(0);
    expect(errorLines(server.process.logs)).toEqual([]);
  } finally {
    await server.process.terminate();
  }
});
