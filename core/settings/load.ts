/**
 * Reads the settings of one command from its flags and the environment, in one pass over the
 * table: a flag wins over its environment variable, which wins over the default. Every bad value
 * is reported at once, each named by its variable and flag.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { COMMAND_FLAGS, type Command, type Setting, SettingProblem, type SettingSource, fileForm, settingLabel } from './setting.js';
import { type Config, SETTINGS, type SettingName } from './settings.js';

/** One setting as read: where it came from, its parsed text and its converted value. */
export interface ResolvedSetting {
  readonly source: SettingSource;
  /** The file a secret was read from (source `file`). */
  readonly file?: string;
  readonly parsed: unknown;
  readonly value: unknown;
}

/** The configuration, and how each of its settings was read (for `crema config`). */
export interface LoadedSettings {
  readonly config: Config;
  readonly resolved: Readonly<Record<SettingName, ResolvedSetting>>;
}

type Raw = string | string[] | undefined;

const ENTRIES = Object.entries(SETTINGS) as [SettingName, Setting][];

for (const [key, s] of ENTRIES) {
  const from = s.defaultFrom;
  if (from !== undefined && !ENTRIES.slice(0, ENTRIES.findIndex(([k]) => k === key)).some(([k]) => k === from)) {
    throw new Error(`setting ${key}: defaultFrom ${from} must name an earlier setting`);
  }
}

/** Whether `command` reads setting `s`; `crema config` reads them all. */
export function readsSetting(command: Command, s: Pick<Setting, 'commands'>): boolean {
  return command === 'config' || s.commands.includes(command);
}

/**
 * Reads every setting of `command`. A setting the command does not read keeps its default, whatever
 * the environment says. Throws a {@link ConfigError} that names every bad setting.
 */
export function loadSettings(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedSettings {
  const flags = parseFlags(command, argv);
  const errors: string[] = [];
  const raws = new Map<SettingName, Raw>();
  const failed = new Set<string>();
  const resolved = {} as Record<SettingName, ResolvedSetting>;
  const earlier: Record<string, unknown> = {};
  for (const [key, s] of ENTRIES) {
    const reads = readsSetting(command, s);
    const given = reads ? givenText(s, flags, env) : { source: 'default' as const };
    if ('problem' in given) {
      failed.add(key);
      errors.push(given.problem);
      continue;
    }
    const { source } = given;
    let raw: Raw;
    if (source !== 'default') {
      raw = given.raw;
    } else if (s.defaultFrom !== undefined) {
      // A default taken from a setting that is itself wrong is not a second problem.
      if (failed.has(s.defaultFrom)) continue;
      raw = raws.get(s.defaultFrom as SettingName);
    } else {
      const fallback = s.commandDefaults?.[command] ?? (typeof s.default === 'function' ? s.default() : s.default);
      raw = fallback === undefined ? undefined : s.kind === 'list' ? fallback.split(',') : fallback;
    }
    raws.set(key, raw);
    const file = source === 'file' ? given.file : undefined;
    const problems = parseSetting(command, s, raw, earlier, (parsed, value) => {
      resolved[key] = { source, parsed, value, ...(file !== undefined && { file }) };
      earlier[key] = value;
    });
    if (problems.length > 0) {
      failed.add(key);
      // A value from a file is named by the variable or flag that named the file.
      const label = file === undefined ? settingLabel(s) : `${settingLabel(fileForm(s))} (${file})`;
      errors.push(...problems.map((p) => `${label}: ${p}`));
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);

  const values = Object.fromEntries(ENTRIES.map(([key]) => [key, resolved[key].value]));
  const sources = Object.fromEntries(ENTRIES.map(([key]) => [key, resolved[key].source]));
  return { config: Object.freeze({ ...values, command, sources }) as Config, resolved };
}

/** Reads the configuration of `command` from its flags and the environment; see {@link loadSettings}. */
export function loadConfig(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  return loadSettings(command, argv, env).config;
}

type Flags = ReturnType<typeof parseFlags>;
type Given = { readonly source: 'default' } | { readonly source: 'flag' | 'env'; readonly raw: Raw } | { readonly source: 'file'; readonly raw: Raw; readonly file: string } | { readonly problem: string };

/**
 * The text a command was given for a setting, if any: a flag wins over the environment. A secret
 * may come from a file instead (its `_FILE` variable, `--…-file` flag), but not both ways at once.
 */
function givenText(s: Setting, flags: Flags, env: NodeJS.ProcessEnv): Given {
  const fileNames = fileForm(s);
  const flag = flags[s.flag];
  const flagFile = s.secret ? flags[fileNames.flag] : undefined;
  const text = env[s.env];
  const envFile = s.secret ? env[fileNames.env] : undefined;
  const both = (value: string, file: string) => ({ problem: `${value} and ${file} are both given; give one` });
  if (flag !== undefined && flagFile !== undefined) return both(`--${s.flag}`, `--${fileNames.flag}`);
  if (flag !== undefined) return { source: 'flag', raw: Array.isArray(flag) ? flag.flatMap((f) => String(f).split(',')) : String(flag) };
  if (flagFile !== undefined) return readSecretFile(s, String(flagFile));
  const hasText = text !== undefined && text !== '';
  const hasFile = envFile !== undefined && envFile !== '';
  if (hasText && hasFile) return both(s.env, fileNames.env);
  if (hasText) return { source: 'env', raw: s.kind === 'list' ? text.split(',') : text };
  if (hasFile) return readSecretFile(s, envFile);
  return { source: 'default' };
}

/**
 * A secret from its file, without the trailing newline an editor or `echo` leaves; the content is
 * never shown. A list takes commas or one item per line.
 */
function readSecretFile(s: Setting, path: string): Given {
  try {
    const text = readFileSync(path, 'utf8').replace(/(\r?\n)+$/, '');
    return { source: 'file', raw: s.kind === 'list' ? text.split(/,|\r?\n/).map((item) => item.trim()).filter(Boolean) : text, file: path };
  } catch (error) {
    const { code } = error as { code?: string };
    return { problem: `${settingLabel(fileForm(s))}: cannot read ${path}${code ? ` (${code})` : ''}` };
  }
}

/** Parses, converts and checks one setting; returns its problems (none when `accept` was called). */
function parseSetting(command: Command, s: Setting, raw: Raw, earlier: Readonly<Record<string, unknown>>, accept: (parsed: unknown, value: unknown) => void): string[] {
  const result = s.schema.safeParse(raw);
  if (!result.success) {
    const shown = Array.isArray(raw) ? raw.join(',') : raw;
    const got = s.secret || shown === undefined ? '' : `; got ${JSON.stringify(shown)}`;
    return [`${result.error.issues[0]?.message ?? 'is invalid'}${got}`];
  }
  let value: unknown;
  try {
    value = s.convert(result.data);
  } catch (error) {
    if (error instanceof SettingProblem) return [...error.problems];
    throw error;
  }
  const problem = readsSetting(command, s) ? s.check?.(value, command, earlier) : undefined;
  if (problem !== undefined) return [problem];
  accept(result.data, value);
  return [];
}

/** The flags `command` takes, as `parseArgs` options (without the dashes): its settings' and its own. */
export function commandOptions(command: Command): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [, s] of ENTRIES) {
    if (!readsSetting(command, s)) continue;
    options[s.flag] = { type: s.kind === 'boolean' ? 'boolean' : 'string', multiple: s.kind === 'list' };
    if (s.secret) options[fileForm(s).flag] = { type: 'string' };
  }
  for (const f of COMMAND_FLAGS[command] ?? []) options[f.flag] = { type: f.value === undefined ? 'boolean' : 'string' };
  return options;
}

function parseFlags(command: Command, argv: readonly string[]): Record<string, string | boolean | (string | boolean)[] | undefined> {
  const options = commandOptions(command);
  try {
    // allowNegative: every yes/no flag has its `--no-` form (`--no-ordered-at`).
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false, allowNegative: true }).values;
  } catch (error) {
    throw new ConfigError([`crema ${command}: ${(error as Error).message}`]);
  }
}
