/**
 * `npm run dashboards`: writes the provisioned JSON of every dashboard from its TypeScript, and
 * removes JSON files no dashboard builds any more.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, DASHBOARD_DIR, dashboardJson } from './dashboards/index.js';

/** The repository root: the nearest directory above this file with a package.json. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above grafana/build');
    dir = parent;
  }
  return dir;
}

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
