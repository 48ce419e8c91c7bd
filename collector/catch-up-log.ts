/**
 * What the collector says about each file it reads, once per change of state rather than once per
 * batch: that it is behind on a file (by at least {@link CATCH_UP_MIN_BYTES}), how far behind while
 * it catches up (bounded: each time another tenth of that backlog is read, and after 5 s without a
 * line if it moved), and when it has caught up (every line read and acknowledged by Redis).
 */
import type { Logger } from '../core/log.js';

/** Bytes behind on a file that make a catching up worth saying; less is the normal lag of following. */
export const CATCH_UP_MIN_BYTES = 1024 * 1024;
/** Longest quiet time between progress lines while catching up (if it moved at all). */
const PROGRESS_EVERY_MS = 5000;
/** A progress line each time this share of the backlog has been read. */
const PROGRESS_STEPS = 10;

/** A file as read: the tail of one file, seen by the catch-up log. */
export interface ReadFile {
  /** The file's identity key. */
  readonly key: string;
  /** Where the file was opened. */
  readonly path: string;
  /** The followed path it was found at. */
  readonly source: string;
  readonly committed: { readonly offset: number };
  /** Everything readable was read and Redis acknowledged it. */
  readonly caughtUp: boolean;
}

interface FileState {
  phase: 'reading' | 'behind' | 'caught-up';
  startedAt: number;
  startOffset: number;
  /** Bytes behind when the catching up began. */
  startBehind: number;
  lastLogAt: number;
  lastBytesBehind: number;
  /** Tenths of the backlog read at the last progress line. */
  lastStep: number;
}

export class CatchUpLog {
  private readonly files = new Map<string, FileState>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A file was opened at `offset` of its `size` bytes. */
  opened(file: Omit<ReadFile, 'caughtUp' | 'committed'>, offset: number, size: number): void {
    const now = this.now();
    const state: FileState = { phase: 'reading', startedAt: now, startOffset: offset, startBehind: 0, lastLogAt: now, lastBytesBehind: 0, lastStep: 0 };
    this.files.set(file.key, state);
    const behind = Math.max(0, size - offset);
    if (behind >= CATCH_UP_MIN_BYTES) this.startCatchingUp(file, state, offset, size, now);
  }

  /** What a check of the file found, with nothing in flight: its size, and whether everything was read and acknowledged. */
  observe(file: ReadFile, size: number): void {
    const now = this.now();
    const committed = file.committed.offset;
    let state = this.files.get(file.key);
    if (!state) {
      state = { phase: 'reading', startedAt: now, startOffset: committed, startBehind: 0, lastLogAt: now, lastBytesBehind: 0, lastStep: 0 };
      this.files.set(file.key, state);
    }
    const behind = Math.max(0, size - committed);
    if (file.caughtUp) {
      if (state.phase !== 'caught-up') this.caughtUp(file, state, size, now);
      return;
    }
    if (state.phase !== 'behind') {
      if (behind >= CATCH_UP_MIN_BYTES) this.startCatchingUp(file, state, committed, size, now);
      return;
    }
    // The file may grow while it is read: progress is measured against the backlog at the start.
    const step = Math.floor(((state.startBehind - behind) / state.startBehind) * PROGRESS_STEPS);
    const moved = behind !== state.lastBytesBehind;
    if (moved && (step > state.lastStep || now - state.lastLogAt >= PROGRESS_EVERY_MS)) {
      const seconds = (now - state.lastLogAt) / 1000;
      const bytesPerSecond = seconds > 0 ? Math.round((state.lastBytesBehind - behind) / seconds) : undefined;
      this.behindLine(file, size, behind, { bytesPerSecond });
      state.lastLogAt = now;
      state.lastBytesBehind = behind;
      state.lastStep = Math.max(step, state.lastStep);
    }
  }

  /** The file was closed: forget it. */
  closed(key: string): void {
    this.files.delete(key);
  }

  private startCatchingUp(file: Omit<ReadFile, 'caughtUp' | 'committed'>, state: FileState, offset: number, size: number, now: number): void {
    const behind = Math.max(0, size - offset);
    Object.assign(state, { phase: 'behind', startedAt: now, startOffset: offset, startBehind: behind, lastLogAt: now, lastBytesBehind: behind, lastStep: 0 });
    this.behindLine(file, size, behind, {});
  }

  private behindLine(file: Omit<ReadFile, 'caughtUp' | 'committed'>, size: number, behind: number, extra: { bytesPerSecond?: number }): void {
    const percentBehind = percentOf(behind, size);
    this.log.info(
      { source: file.source, path: file.path, file: file.key, bytesBehind: behind, percentBehind, size, ...extra },
      `catching up with a file: ${formatBytes(behind)} behind (${percentBehind} %)`,
    );
  }

  private caughtUp(file: ReadFile, state: FileState, size: number, now: number): void {
    const bytesRead = Math.max(0, file.committed.offset - state.startOffset);
    const seconds = Math.round((now - state.startedAt) / 100) / 10;
    const read = bytesRead > 0 ? { bytesRead, seconds } : {};
    this.log.info(
      { source: file.source, path: file.path, file: file.key, size, ...read },
      bytesRead > 0 ? `caught up with a file: read ${formatBytes(bytesRead)} in ${seconds} s` : 'caught up with a file',
    );
    state.phase = 'caught-up';
  }
}

function percentOf(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}

/** `3.3 MiB`, `512 KiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]!}`;
}
