/**
 * What `crema` answers without running anything: `crema --help`, `crema <command> --help`,
 * `crema --version`, and usage errors (a command or flag that does not exist). Every text is
 * derived from the command and settings tables, so a command or setting added there is listed
 * here without a change.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { repositoryRoot } from '../core/repository.js';
import { COMMAND_FLAGS, COMMAND_SUMMARIES, COMMANDS, type Command, SETTINGS, type Setting, readsSetting } from '../core/settings/index.js';
import { OTHER_WORDS, findUnknownFlag, unknownCommandMessage, unknownFlagMessage } from './suggest.js';

/** Help and the version go to standard output (exit 0); a usage error to standard error (exit 2). */
export type Answer = { readonly stdout: string } | { readonly stderr: string };

const ALL_SETTINGS = Object.values(SETTINGS) as Setting[];
const HELP_FLAGS = ['--help', '-h'];
const VERSION_FLAGS = ['--version', '-V'];
/** Where help text is wrapped. */
const WIDTH = 80;

/**
 * The answer to `crema <argv>` when it is help, the version or a usage error; undefined when the
 * command should run. Help and version win over anything else on the line (before a `--`).
 */
export function answer(argv: readonly string[]): Answer | undefined {
  const [first, ...rest] = argv;
  if (first === undefined) return { stderr: programHelp() };
  if (first === 'help' || HELP_FLAGS.includes(first)) {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic === undefined) return { stdout: programHelp() };
    return isCommand(topic) ? { stdout: commandHelp(topic) } : { stderr: `${unknownCommandMessage(topic)}\n` };
  }
  if (first === 'version' || VERSION_FLAGS.includes(first)) return { stdout: versionLine() };
  if (!isCommand(first)) return { stderr: `${unknownCommandMessage(first)}\n` };
  const end = rest.indexOf('--');
  const flags = end === -1 ? rest : rest.slice(0, end);
  if (flags.some((a) => HELP_FLAGS.includes(a))) return { stdout: commandHelp(first) };
  if (flags.some((a) => VERSION_FLAGS.includes(a))) return { stdout: versionLine() };
  const unknown = findUnknownFlag(first, rest);
  if (unknown !== undefined) return { stderr: `${unknownFlagMessage(first, unknown)}\n` };
  return undefined;
}

function isCommand(word: string): word is Command {
  return (COMMANDS as readonly string[]).includes(word);
}

/** `crema <version>`, from package.json. */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(join(repositoryRoot(), 'package.json'), 'utf8')) as { version: string };
  return `crema ${pkg.version}\n`;
}

/** `crema --help`: the commands, each with what it does. */
export function programHelp(): string {
  const words = [...COMMANDS, ...OTHER_WORDS];
  const pad = Math.max(...words.map((w) => w.length)) + 3;
  const lines = ['usage: crema <command> [flags]', '', 'commands:'];
  for (const command of COMMANDS) lines.push(...hanging(`  ${command.padEnd(pad)}`, COMMAND_SUMMARIES[command]));
  lines.push(
    '',
    ...hanging('  crema <command> --help  ', 'the command’s flags, each with its environment variable, default and meaning'),
    ...hanging('  crema --version         ', 'the version'),
    '',
    ...wrap(
      'Every flag can also be set by its environment variable; a flag wins over the variable. First steps: scripts/up in a checkout (it installs what is missing and runs crema up), then http://127.0.0.1:8080; crema up alone needs a Redis on 127.0.0.1:6379 (REDIS_URL).',
      '',
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** `crema <command> --help`: what it does, then every flag it takes with its variable, default and meaning. */
export function commandHelp(command: Command): string {
  const settings = ALL_SETTINGS.filter((s) => readsSetting(command, s));
  const lines = [`usage: crema ${command} [flags]`, '', ...wrap(`${capitalise(COMMAND_SUMMARIES[command])}.`, '')];
  const everyFlag = settings.length === ALL_SETTINGS.length;
  lines.push('');
  if (everyFlag) {
    lines.push(
      ...wrap(
        `crema ${command} takes every flag of every command and reads every environment variable, and shows what each setting would be and where it came from; crema <command> --help lists the flags of each command.`,
        '',
      ),
    );
  } else {
    lines.push(...wrap('Every flag can also be set by its environment variable; a flag wins over the variable, the variable over the default.', ''));
  }
  lines.push('', 'flags:');
  if (!everyFlag) {
    for (const s of settings) {
      lines.push(`  ${flagTitle(s)}`, ...wrap(`${s.env}, default: ${defaultText(s, command)}`, '      '), ...wrap(plain(s.doc), '      '));
    }
  }
  for (const f of COMMAND_FLAGS[command] ?? []) lines.push(`  --${f.flag}${f.value === undefined ? '' : ` <${f.value}>`}`, ...wrap(plain(f.doc), '      '));
  lines.push('  -h, --help', '      Show this help.');
  return `${lines.join('\n')}\n`;
}

/** `--from <beginning|end>`, `--ordered-at, --no-ordered-at`, `--prefix <value>`. */
function flagTitle(s: Setting): string {
  if (s.kind === 'boolean') return `--${s.flag}, --no-${s.flag}`;
  const schema = s.schema instanceof z.ZodOptional ? s.schema.unwrap() : s.schema;
  const value = schema instanceof z.ZodEnum ? (schema.options as readonly string[]).join('|') : 'value';
  return `--${s.flag} <${value}>`;
}

/** The default `command` runs with, as the docs say it when it is not a plain text. */
function defaultText(s: Setting, command: Command): string {
  const text = s.commandDefaults?.[command] ?? (typeof s.default === 'string' ? s.default : undefined);
  return text ?? plain(s.defaultDoc ?? 'none');
}

/** Markdown's code marks are noise in a terminal. */
function plain(text: string): string {
  return text.replace(/`([^`]*)`/g, '$1');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `text` in lines of at most {@link WIDTH} characters (a longer word stands alone), each after `indent`. */
function wrap(text: string, indent: string): string[] {
  return hanging(indent, text, indent);
}

/** `text` after `first` on the first line, after `rest` (spaces as wide as `first` by default) on the others. */
function hanging(first: string, text: string, rest = ' '.repeat(first.length)): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}
