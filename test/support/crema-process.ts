/** Runs the real `crema` entry point as a child process, for crash and shutdown tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One JSON log line. */
export type LogEntry = { readonly msg: string; readonly level: string } & Readonly<Record<string, unknown>>;

/** What a finished `crema` run wrote and how it exited. */
export interface CremaRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `crema <args>` to its end (for commands that answer and exit: help, version, usage errors, config). */
export function runCrema(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CremaRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, CREMA_LOG_LEVEL: 'info', CREMA_METRICS_PORT: '0', CREMA_WEB_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export class CremaProcess {
  private readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string, flags: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [CLI, command, ...flags], {
      env: { ...process.env, CREMA_LOG_LEVEL: 'info', CREMA_METRICS_PORT: '0', CREMA_WEB_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 1_000_000) this.output = this.output.slice(-500_000);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get logs(): string {
    return this.output;
  }

  /** The JSON log lines written so far, parsed. */
  entries(): LogEntry[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogEntry];
        } catch {
          return []; // a line still being written
        }
      });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until a log line contains `text`. */
  async waitForLog(text: string, timeoutMs = 15_000): Promise<void> {
    await eventually(() => this.output.includes(text), { timeoutMs, message: `no log line with "${text}"; logs:\n${this.output.slice(-3000)}` });
  }

  /** kill -9: no cleanup of any kind. */
  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}
