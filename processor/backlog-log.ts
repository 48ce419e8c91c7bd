/**
 * What a processor says about a backlog, once when it finds one and once when it has drained it:
 * how many envelopes were waiting, how many it processed until the queue was empty, and how long
 * that took. A backlog is at least {@link BACKLOG_BATCHES} claims' worth waiting; less is the
 * normal work of keeping up and says nothing.
 */
import type { Logger } from '../core/log.js';

/** Batches waiting that make a backlog. */
export const BACKLOG_BATCHES = 10;
/** Least time between two looks at the queue's length. */
const PROBE_EVERY_MS = 1000;

export interface BacklogLogOptions {
  readonly log: Logger;
  readonly consumer: string;
  /** Most envelopes one claim takes: a full claim is the sign that more may be waiting. */
  readonly batchSize: number;
  /** The queue's length now; asked only after a full claim, at most once a second. */
  readonly queueLength: () => Promise<number>;
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

export class BacklogLog {
  private readonly now: () => number;
  private readonly minWaiting: number;
  /** Envelopes committed by this processor since it started. */
  private processed = 0;
  private backlog: { since: number; waiting: number; processedBefore: number; drained: boolean } | undefined;
  private probing = false;
  private probedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: BacklogLogOptions) {
    this.now = options.now ?? Date.now;
    this.minWaiting = BACKLOG_BATCHES * options.batchSize;
  }

  /**
   * A claim from the queue returned `count` envelopes. A full one may mean a backlog: the queue's
   * length is looked at. One that is not full emptied the queue: a backlog is drained once that
   * batch is committed (at once when the claim was empty).
   */
  claimed(count: number): void {
    const now = this.now();
    if (this.backlog) {
      if (count < this.options.batchSize) this.backlog.drained = true;
      if (count === 0) this.finish(now);
      return;
    }
    if (count < this.options.batchSize || this.probing || now - this.probedAt < PROBE_EVERY_MS) return;
    this.probing = true;
    this.probedAt = now;
    const processedBefore = this.processed;
    this.options.queueLength().then(
      (length) => {
        this.probing = false;
        const waiting = length + count;
        if (this.backlog || waiting < this.minWaiting) return;
        this.backlog = { since: now, waiting, processedBefore, drained: false };
        this.options.log.info({ consumer: this.options.consumer, waiting }, `backlog: ${waiting} envelopes waiting`);
      },
      () => {
        // Redis unreachable: the processing loop reports it.
        this.probing = false;
      },
    );
  }

  /** A batch of `count` envelopes was committed. */
  committed(count: number): void {
    this.processed += count;
    if (this.backlog?.drained) this.finish(this.now());
  }

  private finish(now: number): void {
    const { since, waiting, processedBefore } = this.backlog!;
    this.backlog = undefined;
    const processed = this.processed - processedBefore;
    const seconds = Math.round((now - since) / 100) / 10;
    this.options.log.info({ consumer: this.options.consumer, waiting, processed, seconds }, `backlog drained: processed ${processed} envelopes in ${seconds} s`);
  }
}
