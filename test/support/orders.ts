/** Order lines for tests, and the truth a pipeline must reach, computed without the pipeline. */
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { SeededRandom } from '../../generator/random.js';

export interface ExpectedWindow {
  orders: number;
  drinks: number;
  fields: Map<string, number>;
}

/** `count` valid order lines with `orderedAt` spread over `windows` windows of `windowMs` starting at `firstStart`. */
export function orderLines(count: number, options: { seed: number; firstStart: number; windowMs: number; windows: number }): string[] {
  const random = new SeededRandom(options.seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const drinks = random.int(1, 10);
    const orders = Array.from({ length: drinks }, () => random.pick(DEFAULT_CATALOG.coffeeTypes));
    const orderedAt = options.firstStart + random.int(0, options.windows * options.windowMs - 1);
    lines.push(
      JSON.stringify({
        customerAgeGrade: random.pick(DEFAULT_CATALOG.ageGrades),
        paymentMethod: random.pick(DEFAULT_CATALOG.paymentMethods),
        orders,
        orderedAt,
      }),
    );
  }
  return lines;
}

/** Expected window hashes for valid lines that carry `orderedAt` in epoch ms. */
export function expectedWindows(lines: readonly string[], windowMs: number): Map<number, ExpectedWindow> {
  const windows = new Map<number, ExpectedWindow>();
  for (const line of lines) {
    const order = JSON.parse(line) as { customerAgeGrade: string; paymentMethod: string; orders: string[]; orderedAt: number };
    const start = Math.floor(order.orderedAt / windowMs) * windowMs;
    let w = windows.get(start);
    if (!w) windows.set(start, (w = { orders: 0, drinks: 0, fields: new Map() }));
    w.orders++;
    w.drinks += order.orders.length;
    const inc = (f: string) => w.fields.set(f, (w.fields.get(f) ?? 0) + 1);
    inc(`age:${order.customerAgeGrade}`);
    inc(`payment:${order.paymentMethod}`);
    for (const c of order.orders) inc(`coffee:${c}`);
  }
  return windows;
}

/** Redis window hash as expected: counts only (no `final`/`late`). */
export function expectedHash(w: ExpectedWindow): Record<string, string> {
  const hash: Record<string, string> = { orders: String(w.orders), drinks: String(w.drinks) };
  for (const [f, n] of w.fields) hash[f] = String(n);
  return hash;
}

/** A window hash without the bookkeeping fields, for comparing counts. */
export function countsOnly(hash: Record<string, string>): Record<string, string> {
  const { final: _final, late: _late, ...counts } = hash;
  return counts;
}
