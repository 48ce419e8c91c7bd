/**
 * The order schema: the one place that decides whether a line is a valid order.
 *
 * Hand-written rather than a schema library: it runs once per order on the hot path, and
 * `npm run bench` measures it against the equivalent zod schema.
 */
import type { Catalog } from './catalog.js';
import { parseTimestamp } from './windows.js';

export interface Order {
  readonly customerAgeGrade: string;
  readonly paymentMethod: string;
  /** Coffee names, one per drink. */
  readonly orders: readonly string[];
  /** The order's own timestamp (epoch ms), when the line had a valid one. */
  readonly orderedAt: number | undefined;
}

/** Why a line is not a valid order: stable codes, used as metric labels. */
export const DEAD_LETTER_REASONS = [
  'empty_line',
  'line_too_long',
  'invalid_json',
  'not_an_object',
  'missing_field',
  'wrong_type',
  'unknown_value',
  'empty_orders',
  'too_many_drinks',
  'invalid_ordered_at',
  'invalid_envelope',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export type OrderCheck =
  | { readonly ok: true; readonly order: Order }
  | { readonly ok: false; readonly reason: DeadLetterReason; readonly message: string };

/** Upper bound on drinks in one order; the original data set has 1 to 10. */
export const MAX_DRINKS_PER_ORDER = 100;

function reject(reason: DeadLetterReason, message: string): OrderCheck {
  return { ok: false, reason, message };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/** Builds the validator for one catalog. */
export function createOrderValidator(catalog: Catalog): (line: string) => OrderCheck {
  const coffees = new Set(catalog.coffeeTypes);
  const payments = new Set(catalog.paymentMethods);
  const grades = new Set(catalog.ageGrades);

  return function validateOrderLine(line: string): OrderCheck {
    if (line.trim() === '') return reject('empty_line', 'the line is empty');
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      return reject('invalid_json', `not valid JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return reject('not_an_object', `expected a JSON object, got ${describe(parsed)}`);
    }
    const { customerAgeGrade, paymentMethod, orders, orderedAt } = parsed as Record<string, unknown>;

    if (customerAgeGrade === undefined) return reject('missing_field', 'customerAgeGrade is missing');
    if (typeof customerAgeGrade !== 'string') {
      return reject('wrong_type', `customerAgeGrade must be a string, got ${describe(customerAgeGrade)}`);
    }
    if (!grades.has(customerAgeGrade)) {
      return reject('unknown_value', `customerAgeGrade ${quote(customerAgeGrade)} is not in the catalog`);
    }

    if (paymentMethod === undefined) return reject('missing_field', 'paymentMethod is missing');
    if (typeof paymentMethod !== 'string') {
      return reject('wrong_type', `paymentMethod must be a string, got ${describe(paymentMethod)}`);
    }
    if (!payments.has(paymentMethod)) {
      return reject('unknown_value', `paymentMethod ${quote(paymentMethod)} is not in the catalog`);
    }

    if (orders === undefined) return reject('missing_field', 'orders is missing');
    if (!Array.isArray(orders)) return reject('wrong_type', `orders must be an array, got ${describe(orders)}`);
    if (orders.length === 0) return reject('empty_orders', 'orders is empty: an order has at least one drink');
    if (orders.length > MAX_DRINKS_PER_ORDER) {
      return reject('too_many_drinks', `orders has ${orders.length} drinks, more than ${MAX_DRINKS_PER_ORDER}`);
    }
    for (let i = 0; i < orders.length; i++) {
      const coffee: unknown = orders[i];
      if (typeof coffee !== 'string') {
        return reject('wrong_type', `orders[${i}] must be a string, got ${describe(coffee)}`);
      }
      if (!coffees.has(coffee)) return reject('unknown_value', `orders[${i}] ${quote(coffee)} is not in the catalog`);
    }

    let orderedAtMs: number | undefined;
    if (orderedAt !== undefined) {
      orderedAtMs = parseTimestamp(orderedAt);
      if (orderedAtMs === undefined) {
        return reject(
          'invalid_ordered_at',
          `orderedAt must be ISO-8601 with an offset or epoch milliseconds, got ${
            typeof orderedAt === 'string' ? quote(orderedAt) : describe(orderedAt)
          }`,
        );
      }
    }
    return { ok: true, order: { customerAgeGrade, paymentMethod, orders: orders as string[], orderedAt: orderedAtMs } };
  };
}
