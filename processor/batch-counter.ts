/**
 * Turns a claimed batch of envelopes into what one commit applies: count increments per
 * window and dead letters. Pure: no I/O, so it is unit-tested and benchmarked alone.
 */
import type { Catalog } from '../core/catalog.js';
import { type DeadLetterEntry, deadLetterOf } from '../core/dead-letter.js';
import { type Envelope, parseEnvelope } from '../core/envelope.js';
import { type DeadLetterReason, createOrderValidator } from '../core/order.js';
import type { BatchCommit, WindowDelta } from '../core/scripts.js';
import { AGE_FIELD, COFFEE_FIELD, FIELD, PAYMENT_FIELD } from '../core/window-snapshot.js';
import { type EventTimeLimits, eventTime, ingestionTimeProblem, windowStart } from '../core/windows.js';

/** A counted batch: what its commit applies, and what the processor reports about it. */
export interface BatchCounts extends BatchCommit {
  readonly windows: Map<number, WindowDelta>;
  /** Dead letters, ready to store. */
  readonly dead: DeadLetterEntry[];
  readonly deadByReason: Map<DeadLetterReason, number>;
  /** Valid orders in the batch. */
  counted: number;
  /** Orders whose `orderedAt` was out of bounds, counted at their ingestion time. */
  clockSkewed: number;
  /** Earliest ingestion time in the batch (ms), for latency; replayed envelopes left out. */
  oldestIngestedAt: number;
}

export interface CounterOptions {
  readonly catalog: Catalog;
  readonly windowMs: number;
  readonly limits: EventTimeLimits;
}

export class BatchCounter {
  private readonly validate: ReturnType<typeof createOrderValidator>;
  private readonly ageFields: Map<string, string>;
  private readonly paymentFields: Map<string, string>;
  private readonly coffeeFields: Map<string, string>;

  constructor(private readonly options: CounterOptions) {
    this.validate = createOrderValidator(options.catalog);
    const fields = (prefix: string, values: readonly string[]) => new Map(values.map((v) => [v, `${prefix}${v}`]));
    this.ageFields = fields(AGE_FIELD, options.catalog.ageGrades);
    this.paymentFields = fields(PAYMENT_FIELD, options.catalog.paymentMethods);
    this.coffeeFields = fields(COFFEE_FIELD, options.catalog.coffeeTypes);
  }

  /** Counts a batch of envelopes as claimed; `now` bounds their times and stamps their dead letters. */
  count(envelopes: readonly Buffer[], now: number): BatchCounts {
    const counts: BatchCounts = {
      envelopes,
      windows: new Map(),
      dead: [],
      deadByReason: new Map(),
      counted: 0,
      clockSkewed: 0,
      oldestIngestedAt: Number.POSITIVE_INFINITY,
    };
    const { windowMs, limits } = this.options;
    for (const bytes of envelopes) {
      const raw = bytes.toString();
      const envelope = parseEnvelope(raw);
      if (!envelope) {
        this.deadLetter(counts, 'invalid_envelope', 'the queue element is not a Crema envelope', now, bytes);
        continue;
      }
      const timeProblem = ingestionTimeProblem(envelope.ingestedAt, now, limits);
      if (timeProblem !== undefined) {
        this.deadLetter(counts, 'invalid_envelope', `the envelope cannot be counted: ${timeProblem}`, now, bytes, envelope);
        continue;
      }
      // A replayed envelope keeps its ingestion time: its age is not the pipeline's latency.
      if (envelope.ingestedAt < counts.oldestIngestedAt && envelope.replays === undefined) counts.oldestIngestedAt = envelope.ingestedAt;
      if (envelope.oversize !== undefined) {
        this.deadLetter(counts, 'line_too_long', `the line has ${envelope.oversize} bytes, more than the collector accepts`, now, bytes, envelope);
        continue;
      }
      const check = this.validate(envelope.line);
      if (!check.ok) {
        this.deadLetter(counts, check.reason, check.message, now, bytes, envelope);
        continue;
      }
      const order = check.order;
      const time = eventTime(order.orderedAt, envelope.ingestedAt, now, limits);
      if (time.rejectedOrderedAt) counts.clockSkewed++;
      const start = windowStart(time.timeMs, windowMs);
      let window = counts.windows.get(start);
      if (!window) {
        window = { orders: 0, fields: new Map() };
        counts.windows.set(start, window);
      }
      const fields = window.fields;
      window.orders++;
      add(fields, FIELD.orders, 1);
      add(fields, FIELD.drinks, order.orders.length);
      add(fields, this.ageFields.get(order.customerAgeGrade)!, 1);
      add(fields, this.paymentFields.get(order.paymentMethod)!, 1);
      for (const coffee of order.orders) add(fields, this.coffeeFields.get(coffee)!, 1);
      counts.counted++;
    }
    return counts;
  }

  /** Records a dead letter that keeps the claimed element's bytes, not their decoding. */
  private deadLetter(counts: BatchCounts, reason: DeadLetterReason, message: string, now: number, element: Buffer, envelope?: Envelope): void {
    counts.deadByReason.set(reason, (counts.deadByReason.get(reason) ?? 0) + 1);
    counts.dead.push(deadLetterOf(element, reason, message, now, envelope));
  }
}

function add(fields: Map<string, number>, field: string, by: number): void {
  fields.set(field, (fields.get(field) ?? 0) + by);
}

/** Drinks of the valid orders in a batch, over all its windows. */
export function drinksOf(counts: BatchCounts): number {
  let drinks = 0;
  for (const window of counts.windows.values()) drinks += window.fields.get(FIELD.drinks) ?? 0;
  return drinks;
}
