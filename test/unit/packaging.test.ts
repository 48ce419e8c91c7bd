/**
 * What the package claims and ships: `crema` at run time imports production dependencies only,
 * every production dependency is needed at run time (build-only packages such as the Grafana SDK
 * are dev dependencies, left out of the image), and `engines` names the Node.js majors the suite
 * runs on, no open-ended range.
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** Node.js majors the suite is run on (see README, Node.js versions). */
const TESTED_MAJORS = [20, 24];

/** Packages imported, statically or dynamically, by the compiled modules reachable from `entry`. */
function runtimePackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    // import … from 'x', export … from 'x', import 'x', import('x'): the forms tsc emits.
    const forms = /^\s*(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
    const specifiers = [...code.matchAll(forms)].map((m) => (m[1] ?? m[2] ?? m[3])!);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (target.endsWith('.js')) visit(target);
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
  };
  visit(entry);
  return packages;
}

describe('packaging', () => {
  const entry = `${ROOT}dist/cli/main.js`;

  it('runs on production dependencies only, and ships no build-only package', () => {
    expect(existsSync(entry), 'npm run build first').toBe(true);
    const used = runtimePackages(entry);
    expect(used.has('ioredis') && used.has('express'), 'the import walk found the stages').toBe(true);
    expect([...used].filter((name) => !(name in pkg.dependencies)), 'imported at run time, not a production dependency').toEqual([]);
    expect(Object.keys(pkg.dependencies).filter((name) => !used.has(name)), 'production dependencies never imported at run time').toEqual([]);
    expect(pkg.devDependencies).toHaveProperty('@grafana/grafana-foundation-sdk');
  });

  it('claims the Node.js majors it is tested on, and runs on one of them', () => {
    const ranges = pkg.engines.node.split('||').map((range) => range.trim());
    for (const range of ranges) expect(range, 'a caret range per tested major').toMatch(/^\^\d+(\.\d+\.\d+)?$/);
    expect(ranges.map((range) => Number(/^\^(\d+)/.exec(range)![1]))).toEqual(TESTED_MAJORS);
    const [major, minor] = process.versions.node.split('.').map(Number);
    const claimed = ranges.find((range) => range.startsWith(`^${major}`));
    expect(claimed, `Node.js ${process.version} is not a claimed version`).toBeDefined();
    const [, , lowMinor = '0'] = /^\^(\d+)(?:\.(\d+))?/.exec(claimed!)!;
    expect(minor).toBeGreaterThanOrEqual(Number(lowMinor));
  });
});
