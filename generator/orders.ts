/**
 * Random orders with the original data set's distributions: 1 to 10 drinks, each drink, the
 * payment method and the customer's age grade drawn uniformly from the catalog.
 */
import type { Catalog } from '../core/catalog.js';
import { SeededRandom } from './random.js';

export const MIN_DRINKS = 1;
export const MAX_DRINKS = 10;

export class OrderFactory {
  private readonly random: SeededRandom;
  private readonly coffees: readonly string[];
  private readonly payments: readonly string[];
  private readonly grades: readonly string[];

  constructor(catalog: Catalog, seed: number) {
    this.random = new SeededRandom(seed);
    // Pre-encoded once, so a line is a few string joins.
    this.coffees = catalog.coffeeTypes.map((c) => JSON.stringify(c));
    this.payments = catalog.paymentMethods.map((p) => JSON.stringify(p));
    this.grades = catalog.ageGrades.map((g) => JSON.stringify(g));
  }

  /** One order as a JSON line (without newline); `orderedAt` (epoch ms) is written as ISO-8601 UTC. */
  line(orderedAt?: number): string {
    const grade = this.random.pick(this.grades);
    const payment = this.random.pick(this.payments);
    const drinks = this.random.int(MIN_DRINKS, MAX_DRINKS);
    let orders = this.random.pick(this.coffees);
    for (let i = 1; i < drinks; i++) orders += `,${this.random.pick(this.coffees)}`;
    const time = orderedAt === undefined ? '' : `,"orderedAt":"${new Date(orderedAt).toISOString()}"`;
    return `{"customerAgeGrade":${grade},"paymentMethod":${payment},"orders":[${orders}]${time}}`;
  }
}
