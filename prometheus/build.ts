/** `npm run alerting`: writes the alerting rules and their promtool tests from TypeScript. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repositoryRoot } from '../core/repository.js';
import { alertingFiles } from './files.js';

const root = repositoryRoot();
for (const { path, text } of alertingFiles()) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
