/**
 * The catalog of valid order values. The defaults are the original coffee-shop
 * data set: 9 coffee types, 3 payment methods and 10 customer age grades.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

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

const catalogSchema = z
  .object({
    coffeeTypes: z.array(z.string()),
    paymentMethods: z.array(z.string()),
    ageGrades: z.array(z.string()),
  })
  .strict();

/** Checks parsed JSON for the catalog's shape and content; the problems name the field at fault. */
export function parseCatalog(raw: unknown): { readonly catalog: Catalog } | { readonly problems: string[] } {
  const result = catalogSchema.safeParse(raw);
  if (!result.success) return { problems: result.error.issues.map((i) => `${i.path.join('.') || 'catalog'}: ${i.message}`) };
  const problems = catalogProblems(result.data);
  return problems.length > 0 ? { problems } : { catalog: result.data };
}

/** The catalog as JSON with its fields in a fixed order. */
export function catalogJson(catalog: Catalog): string {
  return JSON.stringify({ coffeeTypes: catalog.coffeeTypes, paymentMethods: catalog.paymentMethods, ageGrades: catalog.ageGrades });
}

/**
 * The catalog's identity: `sha256:` and the hex SHA-256 of its JSON with every list sorted, so two
 * files with the same values in another order or layout are the same catalog.
 */
export function catalogHash(catalog: Catalog): string {
  const sorted = (values: readonly string[]) => [...values].sort();
  const canonical = catalogJson({ coffeeTypes: sorted(catalog.coffeeTypes), paymentMethods: sorted(catalog.paymentMethods), ageGrades: sorted(catalog.ageGrades) });
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}
