/**
 * What a mistyped command or flag probably meant. Candidates come from the settings table, so a
 * command or setting added later is suggested without a change here.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, type Command, SETTINGS, commandOptions, readsSetting } from '../core/settings/index.js';

/** Edit distance with adjacent transpositions (optimal string alignment): `verison` is 1 from `version`. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates `word` most likely meant, best first (ignoring case, `_` read as `-`): those
 * closest to it when they are close for its length (a third of its letters, at least one), or else
 * those it starts (`--window` for `--window-seconds`). Empty when nothing is close.
 */
export function closest(word: string, candidates: Iterable<string>): string[] {
  const w = normalise(word);
  if (w.length === 0) return [];
  const unique = [...new Set(candidates)];
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best = Number.POSITIVE_INFINITY;
  let found: string[] = [];
  for (const candidate of unique) {
    const distance = editDistance(w, normalise(candidate));
    if (distance > limit || distance > best) continue;
    if (distance < best) found = [];
    best = distance;
    found.push(candidate);
  }
  if (found.length > 0) return found;
  return w.length >= 3 ? unique.filter((c) => normalise(c).startsWith(w)) : [];
}

function normalise(text: string): string {
  return text.toLowerCase().replace(/_/g, '-');
}

/** The words `crema` takes in place of a command besides the commands themselves. */
export const OTHER_WORDS = ['help', 'version'] as const;

/** The one line for a command that does not exist. */
export function unknownCommandMessage(word: string): string {
  const guess = closest(word, [...COMMANDS, ...OTHER_WORDS]);
  const hint = guess.length > 0 ? `did you mean ${or(guess)}?` : 'crema --help lists the commands';
  return `crema: unknown command "${word}"; ${hint}`;
}

/**
 * The first flag in `argv` (before a `--`) that `command` does not take, as written (`--rate`,
 * `-x`); undefined when it takes them all. Values are not checked here: the settings loader does.
 */
export function findUnknownFlag(command: Command, argv: readonly string[]): string | undefined {
  const options = commandOptions(command);
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind === 'option' && !takes(options, token.name)) return token.rawName;
  }
  return undefined;
}

/**
 * The one line for a flag `command` does not take: what it probably meant, or which commands take
 * it (`--rate` is a flag of `crema generate` and `crema up`).
 */
export function unknownFlagMessage(command: Command, written: string): string {
  const start = `crema ${command}: unknown option ${written}`;
  const name = written.replace(/^-+/, '').split('=')[0]!;
  if (takerCommands(name).length > 0) return `${start}; ${flagOf(name)}`;
  // An environment variable written as a flag: --CREMA_WINDOW_SECONDS.
  const byEnv = Object.values(SETTINGS).find((s) => s.env.toLowerCase() === name.toLowerCase().replace(/-/g, '_'));
  if (byEnv && readsSetting(command, byEnv)) return `${start}; did you mean --${byEnv.flag}?`;
  if (byEnv) return `${start}; did you mean --${byEnv.flag}? ${flagOf(byEnv.flag)}`;
  const own = closest(name, [...flagNames(command), 'help']);
  if (own.length > 0) return `${start}; did you mean ${or(own.map((f) => `--${f}`))}?`;
  const elsewhere = closest(name, COMMANDS.flatMap((c) => flagNames(c)));
  if (elsewhere.length === 1) return `${start}; did you mean --${elsewhere[0]!}? ${flagOf(elsewhere[0]!)}`;
  return `${start}; crema ${command} --help lists its flags`;
}

/** `it is a flag of crema generate and crema up`. */
function flagOf(flag: string): string {
  return `it is a flag of ${and(takerCommands(flag).map((c) => `crema ${c}`))}`;
}

/**
 * Commands that take `flag` (or its `--no-` form). `config` takes every flag to show its effect,
 * so it is named only for a flag no other command takes.
 */
function takerCommands(flag: string): Command[] {
  const takers = COMMANDS.filter((c) => takes(commandOptions(c), flag));
  const others = takers.filter((c) => !takesEveryFlag(c));
  return others.length > 0 ? others : takers;
}

function takesEveryFlag(command: Command): boolean {
  return Object.values(SETTINGS).every((s) => readsSetting(command, s));
}

/** The flag names `command` takes, `no-` forms included. */
function flagNames(command: Command): string[] {
  return Object.entries(commandOptions(command)).flatMap(([flag, o]) => (o.type === 'boolean' ? [flag, `no-${flag}`] : [flag]));
}

function takes(options: Readonly<Record<string, { type: string }>>, name: string): boolean {
  return name in options || (name.startsWith('no-') && options[name.slice(3)]?.type === 'boolean');
}

function and(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)!}`;
}

function or(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)!}`;
}
