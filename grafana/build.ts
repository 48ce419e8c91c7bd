/**
 * `npm run dashboards`: writes the provisioned JSON of every dashboard from its TypeScript, and
 * removes JSON files no dashboard builds any more.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../core/repository.js';
import { DASHBOARDS, DASHBOARD_DIR, dashboardJson } from './dashboards/index.js';

const directory = join(repositoryRoot(), DASHBOARD_DIR);
mkdirSync(directory, { recursive: true });
const wanted = new Set(DASHBOARDS.map((d) => d.file));
for (const file of readdirSync(directory)) {
  if (file.endsWith('.json') && !wanted.has(file)) rmSync(join(directory, file));
}
for (const { file, build } of DASHBOARDS) {
  writeFileSync(join(directory, file), dashboardJson(build()));
  process.stdout.write(`wrote ${join(DASHBOARD_DIR, file)}\n`);
}
