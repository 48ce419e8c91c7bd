/** Runs the real `crema` entry point as a child process, for crash and shutdown tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

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

/** What a `crema` command that runs to its end printed, and its exit code. */
export interface CremaRun {
  readonly code: number | null;
  /** Standard output as bytes (`crema dead show --raw` writes raw bytes). */
  readonly stdout: Buffer;
  readonly stderr: string;
  /** Standard output as text. */
  readonly out: string;
}

/** Runs `crema <command> <flags>` to its end (killed after `timeoutMs`). */
export function runCrema(command: string, flags: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CremaRun> {
  const child = spawn(process.execPath, [CLI, command, ...flags], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout);
      resolve({ code, stdout: out, stderr: Buffer.concat(stderr).toString(), out: out.toString() });
    });
  });
}
