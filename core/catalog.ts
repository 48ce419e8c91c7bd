/**
 * The catalog of valid order values. The defaults are the original coffee-shop
 * data set: 9 coffee types, 3 payment methods and 10 customer age grades.
 */
export interface Catalog {
  readonly coffeeTypes: readonly string[];
  readonly paymentMethods: readonly string[];
  readonly ageGrades: readonly string[];
}

export const DEFAULT_CATALOG: Catalog = Object.freeze({
  coffeeTypes: Object.freeze([
    'Espresso',
    'Espresso Macchiato',
    'Espresso con Panna',
    'Caffe Latte',
    'Flat White',
    'Cafe Breve',
    'Cappuccino',
    'Caffe Mocha',
    'Americano',
  ]),
  paymentMethods: Object.freeze(['Cash', 'Credit', 'Debit']),
  ageGrades: Object.freeze(['0010', '1020', '2030', '3040', '4050', '5060', '6070', '7080', '8090', '9999']),
});

/** Checks a catalog for empty or repeated entries; returns the problems found. */
export function catalogProblems(catalog: Catalog): string[] {
  const problems: string[] = [];
  for (const [name, values] of Object.entries(catalog) as [keyof Catalog, readonly string[]][]) {
    if (!Array.isArray(values) || values.length === 0) {
      problems.push(`${name} must be a non-empty list`);
      continue;
    }
    const seen = new Set<string>();
    for (const value of values) {
      if (typeof value !== 'string' || value.trim() === '') problems.push(`${name} contains an empty value`);
      else if (seen.has(value)) problems.push(`${name} lists "${value}" twice`);
      seen.add(value);
    }
  }
  return problems;
}
