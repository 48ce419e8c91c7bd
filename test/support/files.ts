/** Files for collector tests: temporary directories and line writers. */
import { closeSync, existsSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(): { path: string; file(name: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'crema-test-'));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Appends to a path through a held descriptor, as a logging process does; `reopen` follows a rotation. */
export class LineWriter {
  private fd: number;
  written = 0;

  constructor(private readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  write(text: string): void {
    writeSync(this.fd, text);
  }

  /** Writes lines `{"n":<k>}` for the next `count` numbers. */
  lines(count: number): void {
    let text = '';
    for (let i = 0; i < count; i++) text += `{"n":${this.written++}}\n`;
    this.write(text);
  }

  reopen(): void {
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Rename rotation as logrotate does it: `name.k` becomes `name.k+1`, then `name` becomes `name.1`. */
export function rotate(path: string): void {
  let highest = 0;
  while (existsSync(`${path}.${highest + 1}`)) highest++;
  for (let k = highest; k >= 1; k--) renameSync(`${path}.${k}`, `${path}.${k + 1}`);
  renameSync(path, `${path}.1`);
}
