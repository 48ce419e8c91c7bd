/** Where the built page is. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `dist/web/public`, written by the page build. Compiled, this module sits in `dist/web` beside
 * it; run from source (tests), it is found through `dist`.
 */
export function publicDir(): string {
  const beside = fileURLToPath(new URL('./public/', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../dist/web/public/', import.meta.url));
}
