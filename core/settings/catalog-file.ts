/** The catalog setting's conversion: a JSON file of valid order values, or the built-in catalog. */
import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG, parseCatalog } from '../catalog.js';
import { SettingProblem } from './setting.js';

/** Reads and checks a catalog file; undefined gives the built-in catalog. Throws a {@link SettingProblem} naming the file. */
export function loadCatalogFile(path: string | undefined): Catalog {
  if (path === undefined) return DEFAULT_CATALOG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SettingProblem([`cannot read ${path}: ${(error as Error).message}`]);
  }
  const parsed = parseCatalog(raw);
  if ('problems' in parsed) throw new SettingProblem(parsed.problems.map((p) => `${path}: ${p}`));
  return parsed.catalog;
}
