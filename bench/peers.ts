/** Reference points from other tools on the same machine: redis-benchmark, and rsyslog imfile → omhiredis. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectRedis, createRedis } from '../core/redis.js';
import { benchKeys, waitUntil } from './support.js';

const run = promisify(execFile);

/** RPUSH requests per second that redis-benchmark reaches, one element each, pipelined 1,000 deep. */
export async function benchRedisBenchmark(port: number): Promise<{ rpushPerSecond: number } | undefined> {
  try {
    const { stdout } = await run('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'rpush', '-n', '2000000', '-P', '1000', '-d', '250', '-q', '--csv']);
    const row = stdout.split('\n').find((l) => l.includes('RPUSH'));
    const value = Number(row?.split(',')[1]?.replaceAll('"', ''));
    return Number.isFinite(value) ? { rpushPerSecond: value } : undefined;
  } catch {
    return undefined;
  }
}

const OMHIREDIS = ['/usr/lib/x86_64-linux-gnu/rsyslog/omhiredis.so', '/usr/lib/rsyslog/omhiredis.so'];

/**
 * rsyslog's imfile → omhiredis on the same file, as a private rsyslogd with its own config and
 * state directory. Undefined when rsyslog or its hiredis module is not installed.
 */
export async function benchRsyslog(url: string, file: string, lines: number, workDir: string): Promise<{ linesPerSecond: number } | undefined> {
  if (!OMHIREDIS.some((p) => existsSync(p))) return undefined;
  const port = new URL(url).port;
  const keys = benchKeys();
  const key = `${keys.prefix}rsyslog`;
  mkdirSync(join(workDir, 'state'), { recursive: true });
  const config = join(workDir, 'rsyslog.conf');
  writeFileSync(
    config,
    `global(workDirectory="${join(workDir, 'state')}" maxMessageSize="64k")
module(load="imfile")
module(load="omhiredis")
template(name="line" type="string" string="%msg%")
ruleset(name="toredis") {
  action(type="omhiredis" server="127.0.0.1" serverport="${port}" mode="queue" key="${key}" template="line"
         queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="1024")
}
input(type="imfile" File="${file}" Tag="orders" ruleset="toredis")
`,
  );
  const probe = createRedis(url, { name: 'bench-rsyslog' });
  await connectRedis(probe);
  let rsyslogd: ChildProcess | undefined;
  try {
    const started = performance.now();
    rsyslogd = spawn('rsyslogd', ['-n', '-f', config, '-i', join(workDir, 'rsyslogd.pid')], { stdio: 'ignore' });
    await waitUntil(async () => (await probe.llen(key)) >= lines, 180_000, 20);
    const seconds = (performance.now() - started) / 1000;
    return { linesPerSecond: lines / seconds };
  } catch {
    return undefined;
  } finally {
    rsyslogd?.kill('SIGTERM');
    await probe.unlink(key);
    probe.disconnect();
  }
}
