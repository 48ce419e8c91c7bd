/**
 * A window's counts as stored in its Redis hash, and as published on the stats channel.
 *
 * Hash fields: `orders`, `drinks`, `age:<grade>`, `payment:<method>`, `coffee:<type>`,
 * `late` (orders counted after the window closed) and `final` (`1` once closed).
 * Orders are counted per order in `age:` and `payment:`, per drink in `coffee:`.
 */

export const FIELD = {
  orders: 'orders',
  drinks: 'drinks',
  late: 'late',
  final: 'final',
} as const;

export const AGE_FIELD = 'age:';
export const PAYMENT_FIELD = 'payment:';
export const COFFEE_FIELD = 'coffee:';

export interface WindowSnapshot {
  /** Window start, epoch ms (inclusive). */
  readonly start: number;
  /** Window end, epoch ms (exclusive). */
  readonly end: number;
  /** Closed: its counts change only through late orders. */
  readonly final: boolean;
  readonly orders: number;
  readonly drinks: number;
  /** Orders counted after the window closed; a final window with late orders was revised. */
  readonly late: number;
  /** Orders by customer age grade. */
  readonly age: Readonly<Record<string, number>>;
  /** Orders by payment method. */
  readonly payment: Readonly<Record<string, number>>;
  /** Drinks by coffee type. */
  readonly coffee: Readonly<Record<string, number>>;
}

/** A window's counts, to fill in: {@link WindowSnapshot} without its times and finality. */
export interface WindowCounts {
  orders: number;
  drinks: number;
  late: number;
  readonly age: Record<string, number>;
  readonly payment: Record<string, number>;
  readonly coffee: Record<string, number>;
}

/** The counts of a window with nothing in it. */
export function emptyCounts(): WindowCounts {
  return { orders: 0, drinks: 0, late: 0, age: {}, payment: {}, coffee: {} };
}

/** Builds a snapshot from a window hash given as HGETALL's flat field/value list. */
export function snapshotFromFields(start: number, windowMs: number, flat: readonly string[]): WindowSnapshot {
  const counts = emptyCounts();
  let final = false;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i]!;
    const value = flat[i + 1]!;
    if (field === FIELD.orders) counts.orders = Number(value);
    else if (field === FIELD.drinks) counts.drinks = Number(value);
    else if (field === FIELD.late) counts.late = Number(value);
    else if (field === FIELD.final) final = value === '1';
    else if (field.startsWith(AGE_FIELD)) counts.age[field.slice(AGE_FIELD.length)] = Number(value);
    else if (field.startsWith(PAYMENT_FIELD)) counts.payment[field.slice(PAYMENT_FIELD.length)] = Number(value);
    else if (field.startsWith(COFFEE_FIELD)) counts.coffee[field.slice(COFFEE_FIELD.length)] = Number(value);
  }
  return { start, end: start + windowMs, final, ...counts };
}

/** Same as {@link snapshotFromFields}, from ioredis's object form of HGETALL. */
export function snapshotFromHash(start: number, windowMs: number, hash: Readonly<Record<string, string>>): WindowSnapshot {
  return snapshotFromFields(start, windowMs, Object.entries(hash).flat());
}
