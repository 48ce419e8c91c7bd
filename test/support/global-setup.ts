/**
 * Once per test run: builds the entry points that crash tests spawn, and starts the shared Redis.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { type RedisServer, startSharedRedis } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let redis: RedisServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // CREMA_TEST_NO_BUILD=1 reuses the dist/ already built (quicker when iterating on tests only).
  // Which Node.js runs the tests and the crema processes they spawn (and `node` on PATH, which
  // the scripts use), so a run on another version shows that it really ran there.
  const onPath = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
  process.stdout.write(`Node.js ${process.version}${onPath === process.version ? '' : `; node on PATH: ${onPath}`}\n`);
  if (!process.env.CREMA_TEST_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  redis = await startSharedRedis();
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.dispose();
}
