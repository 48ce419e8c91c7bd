/**
 * The shape of one setting. Everything Crema knows about a setting is declared once, in the table
 * of `settings.ts`: where it comes from (environment variable, flag, default), how its text is
 * checked (a zod schema), how it becomes the value the stages use (conversion), how `crema config`
 * shows it, and which commands read it. The `Config` type and every output are derived from that.
 */
import type { z } from 'zod';

export const COMMANDS = ['generate', 'collect', 'process', 'export', 'serve', 'up', 'config', 'acl', 'dead'] as const;
export type Command = (typeof COMMANDS)[number];

/** What each command does, in one line: `crema --help` lists them, `crema <command> --help` starts with it. */
export const COMMAND_SUMMARIES: Readonly<Record<Command, string>> = {
  generate: 'append random orders to a file',
  collect: 'follow order files and push their lines to the Redis queue',
  process: 'count queued orders into time windows in Redis',
  export: 'write window counts to InfluxDB (INFLUX_URL), for Grafana',
  serve: 'serve the live page, its history API and live stream (http://127.0.0.1:8080)',
  up: 'generate, collect, process and serve in one process (the local default); export too when INFLUX_URL is set',
  config: 'print the effective configuration, or the settings table with --markdown',
  dead: 'list, count, show, replay and purge dead letters (crema dead --help)',
  acl: 'print an ACL SETUSER line per stage: a Redis user that may do only what that stage does, on the keys of --prefix (crema acl | redis-cli)',
};

/** A flag of one command that is not a setting: it chooses what the command does rather than configuring a stage. */
export interface CommandFlag {
  /** Without the dashes. */
  readonly flag: string;
  /** What its value is, as help shows it (`<reason>`); a flag without one is a yes/no flag. */
  readonly value?: string;
  /** One sentence for users. */
  readonly doc: string;
}

/** Flags besides the settings', by command. */
export const COMMAND_FLAGS: Readonly<Partial<Record<Command, readonly CommandFlag[]>>> = {
  config: [{ flag: 'markdown', doc: 'Print the settings table in Markdown (the README’s configuration table) instead of the effective values.' }],
};

/** Where a setting's value came from; `file`: a secret read from the file its `_FILE` variable or `--…-file` flag names. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default';

/** A value's conversion failed (a file that cannot be read, say); the loader puts the setting's name before each problem. */
export class SettingProblem extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

/** One setting as the table declares it; {@link setting} fills in what is left out. */
export interface SettingSpec<S extends z.ZodType, V, C extends readonly Command[]> {
  /** Environment variable. */
  readonly env: string;
  /** Command-line flag, without the dashes. */
  readonly flag: string;
  /** `list`: the flag may be repeated and values are separated by commas. @defaultValue 'string' */
  readonly kind?: 'string' | 'boolean' | 'list';
  /**
   * Checks and parses the text (an array of texts for a list). It gets `undefined` when the setting
   * was not given and has no default, so such a setting's schema ends in `.optional()`.
   */
  readonly schema: S;
  /** Default text, as it would be written in the environment; a function for defaults found at run time. */
  readonly default?: string | (() => string);
  /** Defaults that differ by command, over {@link default}. */
  readonly commandDefaults?: Partial<Record<Command, string>>;
  /** Name of an earlier setting whose text is this one's default (the grace defaults to the window size). */
  readonly defaultFrom?: string;
  /** How the default reads in the docs when it is not a plain text. */
  readonly defaultDoc?: string;
  /** Turns the parsed text into the value the stages use (units, files). @defaultValue the parsed value */
  readonly convert?: (parsed: z.output<S>) => V;
  /** How `crema config` shows the value, from the parsed text and the converted value. @defaultValue the text; `***` for a secret */
  readonly display?: (parsed: z.output<S>, value: V) => string;
  /**
   * A problem with the value for this command, beyond its schema (a setting one command requires,
   * or one that another setting makes necessary); `earlier` holds the values of the settings
   * declared before this one.
   */
  readonly check?: (value: V, command: Command, earlier: Readonly<Record<string, unknown>>) => string | undefined;
  /** One sentence for users. */
  readonly doc: string;
  /** Commands that read this setting; no other command accepts its flag or reads its variable. */
  readonly commands: C;
  /**
   * Never shown: masked by `crema config`, and left out of error messages. A secret may also be read
   * from a file named by `<env>_FILE` or `--<flag>-file` (as Docker secrets are), so that it
   * appears neither in the environment nor in `ps`.
   */
  readonly secret?: boolean;
}

/** A setting of the table, with every part filled in. */
export interface Setting<S extends z.ZodType = z.ZodType, V = unknown, C extends readonly Command[] = readonly Command[]>
  extends Omit<SettingSpec<S, V, C>, 'kind' | 'convert' | 'display' | 'secret'> {
  readonly kind: 'string' | 'boolean' | 'list';
  readonly convert: (parsed: z.output<S>) => V;
  readonly display: (parsed: z.output<S>, value: V) => string;
  readonly secret: boolean;
}

/** Declares a setting: the table's entries go through this, so their types carry their commands and value. */
export function setting<S extends z.ZodType, const C extends readonly Command[], V = z.output<S>>(spec: SettingSpec<S, V, C>): Setting<S, V, C> {
  const secret = spec.secret ?? false;
  return Object.freeze({
    ...spec,
    kind: spec.kind ?? 'string',
    secret,
    convert: spec.convert ?? ((parsed: z.output<S>) => parsed as V),
    display: spec.display ?? ((parsed: z.output<S>) => showText(parsed, secret)),
  });
}

/** The default display: the parsed text, lists joined, `(none)` when unset, `***` for a secret that is set. */
export function showText(parsed: unknown, secret = false): string {
  if (parsed === undefined || parsed === '' || (Array.isArray(parsed) && parsed.length === 0)) return '(none)';
  if (secret) return '***';
  return Array.isArray(parsed) ? parsed.join(',') : String(parsed);
}

/** Query parameters whose values are secrets (`?password=`, `?token=`, `?access_key=`…). */
const SECRET_PARAMETER = /pass|pwd|token|secret|key|auth|credential|sig/i;

/** A URL with its password, and the values of query parameters that look secret, replaced by `***`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of new Set(parsed.searchParams.keys())) {
      if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, '***');
    }
    // URLSearchParams would write `***` as `%2A%2A%2A`.
    return parsed.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '***';
  }
}

/** The names of a secret's file form: `ENV_FILE` and `--flag-file`. */
export function fileForm(s: { readonly env: string; readonly flag: string }): { readonly env: string; readonly flag: string } {
  return { env: `${s.env}_FILE`, flag: `${s.flag}-file` };
}

/** `ENV_VAR (--flag)`: how every message names a setting. */
export function settingLabel(s: { readonly env: string; readonly flag: string }): string {
  return `${s.env} (--${s.flag})`;
}
