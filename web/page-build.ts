/**
 * Builds the live page into `dist/web/public`: esbuild bundles the page script (with the parts
 * of npm `d3` it uses) and the style sheet under content-hashed names, which index.html links.
 * No inline script or style, nothing from a CDN. Run by `npm run build`.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Compiled, this module is `dist/web/page-build.js`: sources are two levels up. */
const SOURCE = fileURLToPath(new URL('../../web/page/', import.meta.url));
const OUT = fileURLToPath(new URL('./public/', import.meta.url));

export async function buildPage(source = SOURCE, out = OUT): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: { page: join(source, 'page.ts'), style: join(source, 'style.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15', 'edge100'],
    entryNames: '[name]-[hash]',
    outdir: out,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const named = (prefix: string, ext: string) => {
    const file = outputs.find((name) => name.startsWith(`${prefix}-`) && name.endsWith(ext));
    if (!file) throw new Error(`page build wrote no ${prefix}*${ext}`);
    return file;
  };
  const html = readFileSync(join(source, 'index.html'), 'utf8')
    .replace('{{script}}', named('page', '.js'))
    .replace('{{style}}', named('style', '.css'));
  writeFileSync(join(out, 'index.html'), html);
  copyFileSync(join(source, 'favicon.svg'), join(out, 'favicon.svg'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPage();
}
