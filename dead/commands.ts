/**
 * The subcommands of `crema dead`: list, stats, show, replay, purge, migrate. Each reads the store,
 * writes through the scripts (replay, purge, migrate: one script call per batch, each atomic) and
 * prints what it found or did; each returns its exit code.
 */
import { type DeadLetter, notReplayable } from '../core/dead-letter.js';
import type { Scripts } from '../core/scripts.js';
import type { DeadArgs } from './args.js';
import type { DeadLetterStore, IndexEntry, Selection } from './store.js';
import { count, humanDuration, preview, safeString, safeText, table, utc, utcMs } from './text.js';

/** Where a subcommand writes. */
export interface DeadOutput {
  /** Standard output, text. */
  out(text: string): void;
  /** Standard output, bytes as they are (`show --raw`). */
  bytes(data: Buffer): void;
  /** Standard error. */
  err(text: string): void;
}

export interface DeadContext {
  readonly store: DeadLetterStore;
  readonly scripts: Scripts;
  /** This command's CREMA_DEAD_MAX (migrate keeps to it). */
  readonly deadMax: number;
  readonly output: DeadOutput;
  readonly now: number;
}

/** Characters of a line shown in a table. */
const PREVIEW_CHARS = 60;
/** Hours listed by `stats`, newest first; older letters are summed in one row. */
const STATS_HOURS = 48;
/** Numbers named in one line of a report; the rest are counted. */
const NAMED = 10;

export async function runDeadCommand(args: DeadArgs, context: DeadContext): Promise<number> {
  switch (args.subcommand) {
    case 'list':
      return list(args, context);
    case 'stats':
      return stats(args, context);
    case 'show':
      return show(args, context);
    case 'replay':
      return replay(args, context);
    case 'purge':
      return purge(args, context);
    case 'migrate':
      return migrate(context);
  }
}

function selectionOf(args: DeadArgs): Selection {
  return {
    ...(args.since === undefined ? {} : { since: args.since }),
    ...(args.until === undefined ? {} : { until: args.until }),
    reasons: args.reasons,
  };
}

async function list(args: DeadArgs, { store, output }: DeadContext): Promise<number> {
  const selection = selectionOf(args);
  const newest: IndexEntry[] = [];
  for await (const page of store.entries(selection, 'newest')) {
    newest.push(...page.slice(0, args.limit - newest.length));
    if (newest.length >= args.limit) break;
  }
  const [total, byReason] = await Promise.all([store.size(), countByReason(store, { ...selection, reasons: [] })]);
  const letters = await store.letters(newest.map((e) => e.id));
  const lines: string[] = [];
  if (newest.length === 0) {
    lines.push(total === 0 ? `no dead letters in ${store.keys.deadLetters}` : `no dead letters match (${count(total)} in ${store.keys.deadLetters})`);
  } else {
    const rows = newest.map((entry) => {
      const letter = letters.get(entry.id);
      return [
        String(entry.id),
        utc(entry.at),
        safeString(entry.reason),
        letter ? safeString(sourceOf(letter)) : '(gone)',
        letter ? String(letter.replays) : '',
        letter ? preview(letter.line, PREVIEW_CHARS) : '',
      ];
    });
    lines.push(table(['NUMBER', 'MADE (UTC)', 'REASON', 'SOURCE', 'REPLAYS', 'LINE'], rows, new Set([0, 4])));
    const matching = sum(args.reasons.length > 0 ? args.reasons.map((r) => byReason.get(r) ?? 0) : [...byReason.values()]);
    lines.push('', `the newest ${count(newest.length)} of ${count(matching)} matching, ${count(total)} in ${store.keys.deadLetters}; crema dead show <number> shows one in full`);
  }
  if (byReason.size > 0) lines.push('', reasonTable(byReason));
  lines.push(...(await legacyNotice(store)));
  output.out(`${lines.join('\n')}\n`);
  return 0;
}

async function stats(args: DeadArgs, { store, output, now, deadMax }: DeadContext): Promise<number> {
  const selection = selectionOf(args);
  const byReason = new Map<string, number>();
  const byHour = new Map<number, number>();
  let oldest: number | undefined;
  let newest: number | undefined;
  let matching = 0;
  for await (const page of store.entries(selection)) {
    for (const entry of page) {
      matching++;
      byReason.set(entry.reason, (byReason.get(entry.reason) ?? 0) + 1);
      const hour = Math.floor(entry.at / 3_600_000) * 3_600_000;
      byHour.set(hour, (byHour.get(hour) ?? 0) + 1);
      oldest = Math.min(oldest ?? entry.at, entry.at);
      newest = Math.max(newest ?? entry.at, entry.at);
    }
  }
  const [total, counters] = await Promise.all([store.size(), store.counters()]);
  const filtered = args.reasons.length > 0 || args.since !== undefined || args.until !== undefined;
  const lines = [`${count(total)} dead letters in ${store.keys.deadLetters}${filtered ? `, ${count(matching)} matching` : ''} (this command's CREMA_DEAD_MAX: ${count(deadMax)}; processors drop the oldest beyond their own)`];
  if (oldest !== undefined && newest !== undefined) {
    lines.push(`oldest ${utc(oldest)} (${humanDuration(now - oldest)} ago), newest ${utc(newest)} (${humanDuration(now - newest)} ago)`);
    lines.push('', reasonTable(byReason));
    const hours = [...byHour.entries()].sort(([a], [b]) => b - a);
    const rows = hours.slice(0, STATS_HOURS).map(([hour, n]) => [`${utc(hour).slice(0, 13)}:00Z`, count(n)]);
    const older = sum(hours.slice(STATS_HOURS).map(([, n]) => n));
    if (older > 0) rows.push([`older`, count(older)]);
    lines.push('', table(['HOUR (UTC)', 'COUNT'], rows, new Set([1])));
  }
  lines.push(
    '',
    `since the store began: ${count(counters.replayed)} replayed, ${count(counters.purged)} purged, ${count(counters.trimmed)} dropped at the cap, ${count(counters.migrated)} migrated from ${store.keys.legacyDead}; ${count(counters.seq)} numbers given out`,
  );
  lines.push(...(await legacyNotice(store)));
  output.out(`${lines.join('\n')}\n`);
  return 0;
}

async function show(args: DeadArgs, { store, output, now }: DeadContext): Promise<number> {
  const id = args.ids[0]!;
  const letter = (await store.letters([id])).get(id);
  if (!letter) {
    output.err(`crema dead show: no dead letter ${id} in ${store.keys.deadLetters} (replayed, purged or dropped at the cap, or never made)\n`);
    return 1;
  }
  if (args.raw) {
    output.bytes(letter.line);
    // Said on standard error, so that standard output holds the bytes and nothing else.
    if (letter.truncated) output.err(`crema dead show: dead letter ${id} kept only the first ${count(letter.line.length)} of the line's ${count(letter.bytes)} bytes\n`);
    return 0;
  }
  const shown = safeText(letter.line);
  const rows: [string, string][] = [
    ['number', String(letter.id)],
    ['reason', safeString(letter.reason)],
    ['message', safeString(letter.message)],
    ['made', `${utcMs(letter.at)} (${humanDuration(now - letter.at)} ago)`],
    ['replays', String(letter.replays)],
  ];
  const e = letter.envelopeHeader;
  if (e) {
    rows.push(['envelope', `id ${safeString(e.id)}, source ${safeString(e.source)}, host ${safeString(e.host)}, ingested ${utcMs(e.ingestedAt)}`]);
  } else if (letter.legacy) {
    const l = letter.legacy;
    rows.push(['envelope', `not kept (stored by an earlier version): id ${safeString(l.id ?? '-')}, source ${safeString(l.source ?? '-')}, host ${safeString(l.host ?? '-')}`]);
  } else {
    rows.push(['envelope', 'none: the queue element is not a Crema envelope; the line below is the whole element']);
  }
  const size = letter.truncated ? `${count(letter.bytes)} bytes, the first ${count(letter.line.length)} kept` : `${count(letter.line.length)} bytes`;
  const encoding = letter.legacy
    ? 'the UTF-8 text the earlier version kept, not the bytes read'
    : shown.utf8
      ? 'UTF-8 (control characters escaped)'
      : 'not UTF-8: shown escaped (\\xNN is a byte, \\\\ a backslash)';
  rows.push(['line', `${size}, ${encoding}; --raw writes its bytes`]);
  const why = notReplayable(letter);
  rows.push(['replay', why === undefined ? `possible: crema dead replay ${letter.id}` : `not possible: ${why}`]);
  const width = Math.max(...rows.map(([name]) => name.length));
  output.out(`${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n\n${shown.text}\n`);
  return 0;
}

/** Letters kept back from a replay or purge, and why. */
class Kept {
  private readonly byCause = new Map<string, number[]>();

  add(cause: string, id: number): void {
    const ids = this.byCause.get(cause) ?? [];
    ids.push(id);
    this.byCause.set(cause, ids);
  }

  get size(): number {
    return sum([...this.byCause.values()].map((ids) => ids.length));
  }

  lines(verb: string): string[] {
    return [...this.byCause.entries()].map(([cause, ids]) => `${verb} ${count(ids.length)} (${cause}): ${named(ids)}`);
  }
}

async function replay(args: DeadArgs, { store, scripts, output, now }: DeadContext): Promise<number> {
  const explicit = args.ids.length > 0;
  const ids = explicit ? [...args.ids] : (await store.allEntries(selectionOf(args))).map((e) => e.id);
  if (ids.length === 0) {
    output.out('no dead letters match\n');
    return 0;
  }
  const retentionMs = await store.retentionMs();
  const replayed = new Map<string, number>();
  const gone: number[] = [];
  const kept = new Kept();
  const batches: number[][] = [];
  for (let i = 0; i < ids.length; i += args.batch) batches.push(ids.slice(i, i + args.batch));
  // At the head, the last batch goes first so that the letters stay in order there.
  if (args.where === 'head') batches.reverse();
  for (const batch of batches) {
    const letters = await store.letters(batch);
    const candidates: DeadLetter[] = [];
    for (const id of batch) {
      const letter = letters.get(id);
      if (!letter) {
        gone.push(id);
        continue;
      }
      const why = notReplayable(letter);
      const ingestedAt = letter.envelopeHeader?.ingestedAt ?? 0;
      if (why !== undefined) kept.add(why, id);
      else if (retentionMs !== undefined && ingestedAt < now - retentionMs) kept.add(`ingested more than the retention (${humanDuration(retentionMs)}) ago: the processor would refuse it as invalid_envelope`, id);
      else candidates.push(letter);
    }
    if (candidates.length === 0) continue;
    if (args.dryRun) {
      for (const letter of candidates) replayed.set(letter.reason, (replayed.get(letter.reason) ?? 0) + 1);
      continue;
    }
    const result = await scripts.replayDeadLetters(
      candidates.map((l) => l.id),
      args.where,
    );
    const byId = new Map(candidates.map((l) => [l.id, l]));
    for (const id of result.done) {
      const reason = byId.get(id)!.reason;
      replayed.set(reason, (replayed.get(reason) ?? 0) + 1);
    }
    gone.push(...result.gone);
    for (const id of result.kept) kept.add('the replay script refused it: not an envelope as the collector writes it', id);
  }
  const done = sum([...replayed.values()]);
  const lines = [
    `${args.dryRun ? 'would replay' : 'replayed'} ${count(done)} dead letter${done === 1 ? '' : 's'} to the ${args.where} of ${store.keys.queue}${done > 0 ? `: ${reasonList(replayed)}` : ''}`,
  ];
  lines.push(...kept.lines(args.dryRun ? 'would keep' : 'kept'));
  if (gone.length > 0) lines.push(`${count(gone.length)} not in the store (${explicit ? 'never made, or ' : ''}replayed, purged or dropped meanwhile): ${named(gone)}`);
  output.out(`${lines.join('\n')}\n`);
  return explicit && (gone.length > 0 || kept.size > 0) ? 1 : 0;
}

async function purge(args: DeadArgs, { store, scripts, output, now }: DeadContext): Promise<number> {
  const cutoff = now - args.olderThanMs!;
  const selection: Selection = { until: cutoff, reasons: args.reasons };
  const entries = await store.allEntries(selection);
  const deleted = new Map<string, number>();
  const kept = new Kept();
  let gone = 0;
  for (let i = 0; i < entries.length; i += args.batch) {
    const batch = entries.slice(i, i + args.batch);
    if (args.dryRun) {
      for (const e of batch) deleted.set(e.reason, (deleted.get(e.reason) ?? 0) + 1);
      continue;
    }
    const result = await scripts.purgeDeadLetters(
      batch.map((e) => e.id),
      cutoff,
    );
    const reasons = new Map(batch.map((e) => [e.id, e.reason]));
    for (const id of result.done) deleted.set(reasons.get(id)!, (deleted.get(reasons.get(id)!) ?? 0) + 1);
    gone += result.gone.length;
    for (const id of result.kept) kept.add('not older than the cutoff after all', id);
  }
  const done = sum([...deleted.values()]);
  const lines = [`${args.dryRun ? 'would delete' : 'deleted'} ${count(done)} dead letter${done === 1 ? '' : 's'} made before ${utc(cutoff)} (older than ${humanDuration(args.olderThanMs!)})${done > 0 ? `: ${reasonList(deleted)}` : ''}`];
  lines.push(...kept.lines('kept'));
  if (gone > 0) lines.push(`${count(gone)} were gone already (replayed, purged or dropped meanwhile)`);
  output.out(`${lines.join('\n')}\n`);
  return 0;
}

async function migrate({ store, scripts, output, deadMax }: DeadContext): Promise<number> {
  const waiting = await store.legacySize();
  if (waiting === 0) {
    output.out(`no dead letters of the earlier format in ${store.keys.legacyDead}\n`);
    return 0;
  }
  let migrated = 0;
  let trimmed = 0;
  for (;;) {
    const step = await scripts.migrateDeadLetters(1000, deadMax, Date.now());
    migrated += step.migrated;
    trimmed += step.trimmed;
    if (step.remaining === 0 || step.migrated === 0) break;
  }
  const lines = [`moved ${count(migrated)} dead letters of the earlier format from ${store.keys.legacyDead} into ${store.keys.deadLetters}; they keep their reason, message and time, and cannot be replayed (that format kept neither the envelope nor the line's bytes)`];
  if (trimmed > 0) lines.push(`dropped the ${count(trimmed)} oldest to stay within CREMA_DEAD_MAX (${count(deadMax)})`);
  output.out(`${lines.join('\n')}\n`);
  return 0;
}

function sourceOf(letter: DeadLetter): string {
  return letter.envelopeHeader?.source ?? letter.legacy?.source ?? '-';
}

async function countByReason(store: DeadLetterStore, selection: Selection): Promise<Map<string, number>> {
  const byReason = new Map<string, number>();
  for await (const page of store.entries(selection)) for (const e of page) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
  return byReason;
}

function reasonTable(byReason: ReadonlyMap<string, number>): string {
  const rows = [...byReason.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([reason, n]) => [safeString(reason), count(n)]);
  return table(['REASON', 'COUNT'], rows, new Set([1]));
}

function reasonList(byReason: ReadonlyMap<string, number>): string {
  return [...byReason.entries()]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([reason, n]) => `${safeString(reason)} ${count(n)}`)
    .join(', ');
}

function named(ids: readonly number[]): string {
  const shown = ids.slice(0, NAMED).join(', ');
  return ids.length > NAMED ? `${shown} and ${count(ids.length - NAMED)} more` : shown;
}

async function legacyNotice(store: DeadLetterStore): Promise<string[]> {
  const waiting = await store.legacySize();
  return waiting === 0 ? [] : ['', `${count(waiting)} dead letters of the earlier format wait in ${store.keys.legacyDead}; crema dead migrate moves them here`];
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
