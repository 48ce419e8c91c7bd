/**
 * The exporter: follows every shard's `changes` stream from a checkpoint kept in that shard and
 * writes every closed or revised window (summed over the shards) to InfluxDB, then moves the
 * checkpoints, only once InfluxDB has acknowledged the points. Every few seconds it also writes snapshots of the open windows, so
 * panels are live. Points are idempotent (timestamp = window start), so exporting a window again
 * after a crash or an outage overwrites it: at-least-once export gives exactly-once data.
 *
 * Reads and writes happen in one loop, one step at a time, and window counts only grow: a later
 * write always carries counts at least as new as an earlier one, so a provisional snapshot can
 * never overwrite a final one with older counts.
 */
import type { RedisClient } from '../core/redis.js';
import { Backoff, sleep } from '../core/backoff.js';
import type { Catalog } from '../core/catalog.js';
import { errorType } from '../core/errors.js';
import type { RedisKeys } from '../core/keys.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { connectRedis } from '../core/redis.js';
import { WindowReader } from '../core/window-reader.js';
import type { WindowSnapshot } from '../core/window-snapshot.js';
import { InfluxWriteError, type PointSink } from './influx-writer.js';
import { windowLines } from './points.js';

export interface ExporterOptions {
  readonly redis: RedisClient;
  /** Every shard's keys, in shard order (one: the prefix's own). */
  readonly shards: readonly RedisKeys[];
  readonly sink: PointSink;
  readonly catalog: Catalog;
  /** How often open windows are written (provisional points). */
  readonly provisionalMs: number;
  /** Most windows read and written in one step; bounds memory while InfluxDB is down. */
  readonly batchWindows: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

type ChangeKind = 'final' | 'revised';

/** Longest wait for new changes in one blocking read; also bounds how long close() waits. */
const MAX_BLOCK_MS = 250;
/** With several shards (one blocking read cannot wait on streams in different slots): pause between reads that found nothing. */
const IDLE_POLL_MS = 25;
const BACKOFF = Object.freeze({ initialMs: 200, maxMs: 10_000 });
/** Longest wait for the step in progress at shutdown. */
const CLOSE_WAIT_MS = 3000;

/** Epoch ms at which a stream entry was added (the first part of its id). */
export function streamIdTime(id: string): number {
  return Number(id.split('-')[0]);
}

export class Exporter {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  /** Per shard, the last `changes` entry acknowledged by InfluxDB; read from Redis once. */
  private checkpoints: string[] | undefined;
  /** Error type of the current failure, so each state change is logged once. */
  private failure: string | undefined;
  private nextProvisionalAt = 0;

  private readonly reader: WindowReader;

  constructor(private readonly options: ExporterOptions) {
    this.reader = new WindowReader(options.redis, options.shards);
  }

  /** Runs until closed. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /**
   * Stops after the step in progress, waiting for it at most {@link CLOSE_WAIT_MS}: a write to a
   * hung InfluxDB is abandoned, which loses nothing (the checkpoint has not moved). Idempotent.
   */
  readonly close = once(async () => {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running?.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    await this.options.sink.close();
  });

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(BACKOFF);
    while (!this.stopped) {
      try {
        await connectRedis(this.options.redis, this.stopping.signal);
        await this.step();
        backoff.reset();
      } catch (error) {
        if (this.stopped) break;
        this.failed(error);
        await sleep(backoff.next(), this.stopping.signal);
      }
    }
  }

  /** One step: the next batch of changes (waiting briefly for some), then open windows when due. */
  private async step(): Promise<void> {
    const { redis, shards, log } = this.options;
    if (this.checkpoints === undefined) {
      this.checkpoints = await Promise.all(shards.map(async (keys) => (await redis.get(keys.exportCheckpoint)) ?? '0-0'));
      log.info({ checkpoints: this.checkpoints }, 'exporting window changes after the checkpoints');
    }
    const blockMs = Math.max(1, Math.min(MAX_BLOCK_MS, this.nextProvisionalAt - Date.now()));
    await this.exportChanges(blockMs);
    if (Date.now() >= this.nextProvisionalAt) {
      await this.exportOpen();
      this.nextProvisionalAt = Date.now() + this.options.provisionalMs;
    }
    this.recovered();
  }

  /** Exports the windows of the next changes after the checkpoints, then moves the checkpoints. */
  private async exportChanges(blockMs: number): Promise<void> {
    const { redis, shards, batchWindows, metrics } = this.options;
    const checkpoints = this.checkpoints!;
    const read = (i: number, block: number | undefined) =>
      (block === undefined
        ? redis.xread('COUNT', batchWindows, 'STREAMS', shards[i]!.changes, checkpoints[i]!)
        : redis.xread('COUNT', batchWindows, 'BLOCK', block, 'STREAMS', shards[i]!.changes, checkpoints[i]!)) as Promise<[string, [string, string[]][]][] | null>;
    const replies = shards.length === 1 ? [await read(0, blockMs)] : await Promise.all(shards.map((_, i) => read(i, undefined)));
    const perShard = replies.map((reply) => reply?.[0]?.[1] ?? []);
    const entries = perShard.flat();
    if (entries.length === 0) {
      metrics.exporter.lag.set(0);
      if (shards.length > 1) await sleep(Math.min(blockMs, IDLE_POLL_MS), this.stopping.signal);
      return;
    }
    const oldest = Math.min(...perShard.filter((e) => e.length > 0).map((e) => streamIdTime(e[0]![0])));
    metrics.exporter.lag.set(Math.max(0, Date.now() - oldest) / 1000);
    // Several changes of one window, in one shard or several, need one write: its counts as they are now.
    const kinds = new Map<number, ChangeKind>();
    for (const [, fields] of entries) {
      const change = fieldsOf(fields);
      const start = Number(change.start);
      if (Number.isSafeInteger(start)) kinds.set(start, change.kind === 'revised' ? 'revised' : (kinds.get(start) ?? 'final'));
    }
    const snapshots = await this.read([...kinds.keys()]);
    await this.write(snapshots);
    // A crash between these writes exports some windows again: points overwrite, nothing is counted twice.
    await Promise.all(
      perShard.map(async (shardEntries, i) => {
        if (shardEntries.length === 0) return;
        const last = shardEntries[shardEntries.length - 1]![0];
        await redis.set(shards[i]!.exportCheckpoint, last);
        checkpoints[i] = last;
      }),
    );
    for (const s of snapshots) metrics.exporter.windows.inc({ kind: kinds.get(s.start)! });
  }

  /** Exports provisional snapshots of the newest open windows. */
  private async exportOpen(): Promise<void> {
    const { batchWindows, metrics } = this.options;
    const starts = await this.reader.openStarts(batchWindows);
    if (starts.length === 0) return;
    const snapshots = await this.read(starts);
    await this.write(snapshots);
    metrics.exporter.windows.inc({ kind: 'provisional' }, snapshots.length);
  }

  /** Reads windows, summed over shards; windows already expired are left out. */
  private read(starts: readonly number[]): Promise<WindowSnapshot[]> {
    // The window's end is not exported, so its size does not matter here.
    return this.reader.read(starts, 0);
  }

  private async write(snapshots: readonly WindowSnapshot[]): Promise<void> {
    if (snapshots.length === 0) return;
    const { sink, catalog, metrics } = this.options;
    const lines = snapshots.flatMap((s) => windowLines(s, catalog));
    const started = performance.now();
    await sink.write(lines);
    metrics.exporter.writeDuration.observe((performance.now() - started) / 1000);
    metrics.exporter.points.inc(lines.length);
    metrics.exporter.influxUp.set(1);
  }

  private failed(error: unknown): void {
    const { log, metrics } = this.options;
    const type = errorType(error);
    metrics.errors.inc({ stage: 'exporter', type });
    if (error instanceof InfluxWriteError) metrics.exporter.influxUp.set(0);
    if (this.failure === type) return;
    this.failure = type;
    log.warn({ type, err: (error as Error).message, checkpoints: this.checkpoints }, 'export failed; retrying with backoff, the checkpoints stay where they are');
  }

  private recovered(): void {
    if (this.failure === undefined) return;
    this.failure = undefined;
    this.options.log.info({ checkpoints: this.checkpoints }, 'exporting again');
  }
}

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}
