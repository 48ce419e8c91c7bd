/** Per-test fixtures: a Redis key prefix of the test's own and a temporary directory, both cleaned up. */
import { afterEach, beforeEach } from 'vitest';
import { tempDir } from './files.js';
import { type TestRedis, testRedis } from './redis.js';

export interface TestEnvironment {
  readonly redis: TestRedis;
  readonly dir: ReturnType<typeof tempDir>;
}

/** Registers hooks that give each test of the file a fresh {@link TestEnvironment}. */
export function useTestEnvironment(): TestEnvironment {
  let current: TestEnvironment | undefined;
  beforeEach(() => {
    current = { redis: testRedis(), dir: tempDir() };
  });
  afterEach(async () => {
    await current?.redis.cleanup();
    current?.dir.remove();
  });
  return {
    get redis() {
      return current!.redis;
    },
    get dir() {
      return current!.dir;
    },
  };
}
