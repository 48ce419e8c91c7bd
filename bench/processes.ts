/** Spawns the real `crema` command from the built tree, for measurements across processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export function spawnCrema(command: string, flags: readonly string[]): ChildProcess {
  return spawn(process.execPath, [CLI, command, ...flags], {
    env: { ...process.env, CREMA_LOG_LEVEL: 'warn', CREMA_METRICS_PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
