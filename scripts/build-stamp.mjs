#!/usr/bin/env node
// Whether dist/ was built from the sources as they are now, so that scripts can skip a build.
//   node scripts/build-stamp.mjs write   after a build (npm run build does it): stores the hash
//   node scripts/build-stamp.mjs check   exits 0 when dist/ matches the sources, 1 otherwise
// The hash covers every file the build reads: the source folders, the package and lock files,
// and the TypeScript configurations. `--root <dir>` works on another checkout (tests).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SOURCE_DIRS = ['bench', 'cli', 'collector', 'config', 'core', 'exporter', 'generator', 'grafana', 'processor', 'prometheus', 'web'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];

const { values, positionals } = parseArgs({ options: { root: { type: 'string' } }, allowPositionals: true });
const root = values.root ?? fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.build-stamp');

function files(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : entry.isFile() ? [path] : [];
  });
}

function sourceHash() {
  const paths = [...SOURCE_DIRS.flatMap((dir) => files(join(root, dir))), ...SOURCE_FILES.map((file) => join(root, file)).filter((path) => existsSync(path))];
  const hash = createHash('sha256');
  for (const path of paths.map((p) => relative(root, p)).sort()) {
    hash.update(`${path}\0`);
    hash.update(readFileSync(join(root, path)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

switch (positionals[0]) {
  case 'write':
    writeFileSync(stamp, `${sourceHash()}\n`);
    break;
  case 'check':
    process.exitCode = existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sourceHash() ? 0 : 1;
    break;
  default:
    process.stderr.write('usage: build-stamp.mjs write|check [--root <dir>]\n');
    process.exitCode = 2;
}
