/** `npm run alerting`: writes the alerting rules and their promtool tests from TypeScript. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertingFiles } from './files.js';

/** The repository root: the nearest directory above this file with a package.json. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above prometheus/build');
    dir = parent;
  }
  return dir;
}

const root = repositoryRoot();
for (const { path, text } of alertingFiles()) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
