/** What the table prints: `crema config` (effective values, secrets masked) and the README's table. */
import type { LoadedSettings } from './load.js';
import { type Setting, fileForm } from './setting.js';
import { SETTINGS, type SettingName } from './settings.js';

const ENTRIES = Object.entries(SETTINGS) as [SettingName, Setting][];

/**
 * The effective configuration as aligned text lines: variable, value (as the setting displays it),
 * source (`file <path>` for a secret read from a file; its content is never shown).
 */
export function describeConfig(loaded: LoadedSettings): string {
  const rows = ENTRIES.map(([key, s]) => {
    const { parsed, value, source, file } = loaded.resolved[key];
    return [s.env, s.display(parsed, value), file === undefined ? source : `file ${file}`] as const;
  });
  const width = Math.max(...rows.map(([env]) => env.length));
  return rows.map(([env, value, source]) => `${env.padEnd(width)}  ${value}  (${source})`).join('\n');
}

/** The README's configuration table. */
export function settingsMarkdown(): string {
  const lines = ['| Variable | Flag | Default | Used by | Meaning |', '| --- | --- | --- | --- | --- |'];
  for (const [, s] of ENTRIES) {
    const fallback = s.defaultDoc ?? (typeof s.default === 'string' ? `\`${s.default}\`` : '');
    // A secret's file form is named with it: `REDIS_URL`, `REDIS_URL_FILE`.
    const names = (n: { env: string; flag: string }) => [n, ...(s.secret ? [fileForm(n)] : [])];
    const env = names(s).map((n) => `\`${n.env}\``).join(', ');
    const flag = names(s).map((n) => `\`--${n.flag}\``).join(', ');
    lines.push(`| ${env} | ${flag} | ${fallback} | ${s.commands.join(', ')} | ${s.doc} |`);
  }
  return lines.join('\n');
}

/** Whether `crema config` was asked for the README table. */
export function wantsMarkdown(argv: readonly string[]): boolean {
  return argv.includes('--markdown');
}
