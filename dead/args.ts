/**
 * The arguments of `crema dead <subcommand>`: its own flags and numbers, and the settings flags
 * (`--redis-url`, `--prefix`, `--dead-max`) that go to the settings loader like any command's.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CremaError } from '../core/errors.js';
import { MAX_DEAD_LETTERS_PER_CALL } from '../core/scripts.js';
import { SETTINGS, readsSetting } from '../core/settings/index.js';
import { parseTimestamp } from '../core/windows.js';
import { parseDuration } from './text.js';

export const SUBCOMMANDS = ['list', 'stats', 'show', 'replay', 'purge', 'migrate'] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export const DEAD_USAGE = `usage: crema dead [list|stats|show|replay|purge|migrate] [flags]

  list      the newest dead letters (number, when, reason, source, the line's head) and counts by reason
              --reason R (repeatable)  --since T  --until T  --limit N (default 20)
  stats     counts by reason and by hour, oldest and newest, totals replayed, purged and dropped
              --reason R  --since T  --until T
  show N    one dead letter in full; the line escaped where it is not printable UTF-8
              --raw    write the line's exact bytes to standard output, nothing else
  replay    put dead letters' envelopes back on the queue, each exactly once, and remove them
              N…  or  --reason R / --since T / --until T / --all  to choose them
              --to head|tail (default tail)  --dry-run  --batch N (default 500)
  purge     delete dead letters older than a duration
              --older-than D (required)  --reason R  --dry-run  --batch N (default 500)
  migrate   move dead letters of the earlier format (the list <prefix>dead) into the store

T is a time (2026-11-21T10:00:00Z, epoch ms) or a duration ago (90s, 15m, 12h, 7d, 2w).
Settings: --redis-url (REDIS_URL), --redis-cluster-url (REDIS_CLUSTER_URLS), --prefix (CREMA_PREFIX), --dead-max (CREMA_DEAD_MAX),
--shard (CREMA_SHARD: the shard whose dead letters to work on, when the prefix has several).`;

/** A mistake in the arguments: the message says which; exit code 2. */
export class UsageError extends CremaError {
  constructor(message: string) {
    super(message, 'usage');
  }
}

export interface DeadArgs {
  readonly subcommand: Subcommand;
  /** Dead-letter numbers given as arguments. */
  readonly ids: readonly number[];
  /** `--reason`: only these reasons (empty: any). */
  readonly reasons: readonly string[];
  /** `--since`: letters made at or after (epoch ms). */
  readonly since?: number;
  /** `--until`: letters made before (epoch ms). */
  readonly until?: number;
  readonly limit: number;
  /** `--older-than` (purge), in ms. */
  readonly olderThanMs?: number;
  readonly all: boolean;
  readonly dryRun: boolean;
  readonly raw: boolean;
  readonly where: 'head' | 'tail';
  /** Letters per script call (replay, purge). */
  readonly batch: number;
  /** The settings flags, for the settings loader. */
  readonly settingArgs: readonly string[];
  /** `--help`. */
  readonly help: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;

const OWN: Options = {
  reason: { type: 'string', multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  'older-than': { type: 'string' },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  raw: { type: 'boolean' },
  to: { type: 'string' },
  batch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** The flags of each subcommand (besides `--help` and the settings). */
const FLAGS: Readonly<Record<Subcommand, readonly string[]>> = {
  list: ['reason', 'since', 'until', 'limit'],
  stats: ['reason', 'since', 'until'],
  show: ['raw'],
  replay: ['reason', 'since', 'until', 'all', 'dry-run', 'to', 'batch'],
  purge: ['older-than', 'reason', 'dry-run', 'batch'],
  migrate: [],
};

/** Reads `crema dead …` (without `dead`); `now` turns durations ago into times. Throws a {@link UsageError}. */
export function parseDeadArgs(argv: readonly string[], now = Date.now()): DeadArgs {
  const settingOptions: Options = {};
  for (const s of Object.values(SETTINGS)) {
    if (readsSetting('dead', s)) settingOptions[s.flag] = { type: s.kind === 'boolean' ? 'boolean' : 'string', multiple: s.kind === 'list' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...OWN, ...settingOptions }, strict: true, allowPositionals: true, allowNegative: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const [first, ...rest] = parsed.positionals;
  let subcommand: Subcommand = 'list';
  let positionals = parsed.positionals;
  if (first !== undefined && !/^\d+$/.test(first)) {
    if (!(SUBCOMMANDS as readonly string[]).includes(first)) throw new UsageError(`unknown subcommand "${first}"; one of ${SUBCOMMANDS.join(', ')}`);
    subcommand = first as Subcommand;
    positionals = rest;
  }

  const settingArgs: string[] = [];
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option' || !(token.name in settingOptions)) continue;
    settingArgs.push(token.value === undefined ? token.rawName : `${token.rawName}=${token.value}`);
  }
  for (const name of Object.keys(OWN)) {
    if (name !== 'help' && values[name] !== undefined && !FLAGS[subcommand].includes(name)) {
      throw new UsageError(`--${name} is not a flag of crema dead ${subcommand}`);
    }
  }

  const ids = positionals.map((text) => {
    const id = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1) throw new UsageError(`"${text}" is not a dead-letter number`);
    return id;
  });
  if (subcommand === 'show' && ids.length !== 1 && values.help !== true) throw new UsageError('crema dead show takes one dead-letter number');
  if (ids.length > 0 && subcommand !== 'show' && subcommand !== 'replay') throw new UsageError(`crema dead ${subcommand} takes no dead-letter numbers`);

  const reasons = ((values.reason as string[] | undefined) ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter((r) => r !== '');
  for (const reason of reasons) if (!/^\w+$/.test(reason)) throw new UsageError(`--reason ${JSON.stringify(reason)} is not a reason (letters, digits and _, such as unknown_value)`);
  const since = time(values.since as string | undefined, '--since', now);
  const until = time(values.until as string | undefined, '--until', now);
  if (since !== undefined && until !== undefined && since >= until) throw new UsageError('--since must be before --until');
  const limit = whole(values.limit as string | undefined, '--limit', 20, 1, 100_000);
  const batch = whole(values.batch as string | undefined, '--batch', 500, 1, MAX_DEAD_LETTERS_PER_CALL);
  const to = (values.to as string | undefined) ?? 'tail';
  if (to !== 'head' && to !== 'tail') throw new UsageError(`--to must be head or tail, got ${JSON.stringify(to)}`);

  let olderThanMs: number | undefined;
  if (values['older-than'] !== undefined) {
    olderThanMs = parseDuration(values['older-than'] as string);
    if (olderThanMs === undefined) throw new UsageError(`--older-than must be a duration such as 90s, 15m, 12h, 7d or 2w, got ${JSON.stringify(values['older-than'])}`);
  }
  const help = values.help === true;
  if (!help && subcommand === 'purge' && olderThanMs === undefined) throw new UsageError('crema dead purge needs --older-than (such as --older-than 7d; 0s deletes every one chosen)');
  const all = values.all === true;
  if (!help && subcommand === 'replay') {
    const filtered = reasons.length > 0 || since !== undefined || until !== undefined;
    if (ids.length > 0 && (filtered || all)) throw new UsageError('crema dead replay takes either numbers or --reason/--since/--until/--all, not both');
    if (ids.length === 0 && !filtered && !all) throw new UsageError('say which dead letters to replay: their numbers, --reason, --since, --until, or --all');
  }
  return {
    subcommand,
    ids,
    reasons,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    limit,
    ...(olderThanMs === undefined ? {} : { olderThanMs }),
    all,
    dryRun: values['dry-run'] === true,
    raw: values.raw === true,
    where: to,
    batch,
    settingArgs,
    help,
  };
}

function time(text: string | undefined, flag: string, now: number): number | undefined {
  if (text === undefined) return undefined;
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const at = parseTimestamp(/^\d+$/.test(text) ? Number(text) : text);
  if (at === undefined) throw new UsageError(`${flag} must be a time with a zone (2026-11-21T10:00:00Z), epoch ms, or a duration ago (15m, 12h, 7d), got ${JSON.stringify(text)}`);
  return at;
}

function whole(text: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}
