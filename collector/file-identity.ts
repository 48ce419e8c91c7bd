/**
 * Which file a path points at. A file is known by device, inode and birth time, not by its
 * path: a rotated file keeps its identity under its new name, and a re-created file gets a new
 * one even when the file system reuses the inode number.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';

export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  /** Birth time in ms; 0 where the file system does not record it. */
  readonly birthtimeMs: number;
}

export function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, birthtimeMs: stats.birthtimeMs };
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.birthtimeMs === b.birthtimeMs;
}

/** Short, stable key of a file: the field of its position in Redis and the start of its envelope ids. */
export function fileKey(identity: FileIdentity): string {
  return createHash('sha256')
    .update(`${identity.dev}:${identity.ino}:${identity.birthtimeMs}`)
    .digest('hex')
    .slice(0, 16);
}
