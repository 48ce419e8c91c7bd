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
  private errors = '';
  private standardOutput = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly command: string,
    flags: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [CLI, command, ...flags], {
      // A test that forgets --redis-url reaches nothing, never a Redis on the default port.
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', CREMA_LOG_LEVEL: 'info', CREMA_METRICS_PORT: '0', CREMA_WEB_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 1_000_000) this.output = this.output.slice(-500_000);
    };
    this.child.stdout!.on('data', (chunk: Buffer) => {
      collect(chunk);
      if (this.standardOutput.length < 1_000_000) this.standardOutput += chunk.toString();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      collect(chunk);
      if (this.errors.length < 1_000_000) this.errors += chunk.toString();
    });
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

  /** What the process wrote to standard output alone (its first megabyte). */
  get stdout(): string {
    return this.standardOutput;
  }

  /** What the process wrote to standard error alone (its first megabyte). */
  get stderr(): string {
    return this.errors;
  }

  /** The parsed JSON log lines whose `msg` is `msg`. */
  logLines(msg: string): Record<string, unknown>[] {
    return this.standardOutput
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(`"msg":${JSON.stringify(msg)}`))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === msg);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until a log line contains `text`. */
  async waitForLog(text: string, timeoutMs = 15_000): Promise<void> {
    await eventually(() => this.output.includes(text), { timeoutMs, message: `no log line with "${text}"; logs:\n${this.output.slice(-3000)}` });
  }

  /** How the process exited; fails, saying what it logged, when it is still running after `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`crema ${this.command} did not exit within ${timeoutMs} ms; logs:\n${this.output.slice(-3000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs `action` while the process is stopped (SIGSTOP … SIGCONT), so it sees the action's effect all at once. */
  async whileStopped<T>(action: () => T | Promise<T>): Promise<T> {
    this.child.kill('SIGSTOP');
    try {
      return await action();
    } finally {
      this.child.kill('SIGCONT');
    }
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

/** What a `crema` command that runs to its end printed, as bytes and as text, and its exit code. */
export interface CremaBytesRun {
  readonly code: number | null;
  /** Standard output as bytes (`crema dead show --raw` writes raw bytes). */
  readonly stdout: Buffer;
  readonly stderr: string;
  /** Standard output as text. */
  readonly out: string;
}

/** Runs `crema <command> <flags>` to its end (killed after `timeoutMs`), keeping standard output's bytes. */
export function runCremaBytes(command: string, flags: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CremaBytesRun> {
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
