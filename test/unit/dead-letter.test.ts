import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_LINE_BYTES, deadLetterMember, decodeDeadLetter, deadLetterOf, notReplayable, parseDeadLetterMember } from '../../core/dead-letter.js';
import { EnvelopeFramer, parseEnvelope } from '../../core/envelope.js';
import { UsageError, parseDeadArgs } from '../../dead/args.js';
import { humanDuration, parseDuration, preview, safeText, table } from '../../dead/text.js';

const T = 1_795_304_350_000;
const framer = new EnvelopeFramer('h', '/orders.log', 'f.0');
const envelopeOf = (line: Buffer) => Buffer.concat([Buffer.from(framer.header(7, T)), line]);

describe('dead-letter records', () => {
  it('keep the element byte for byte and read back', () => {
    const line = Buffer.from([0x7b, 0xff, 0x00, 0xc3]);
    const element = envelopeOf(line);
    const entry = deadLetterOf(element, 'invalid_json', 'not JSON', T + 5, parseEnvelope(element.toString()));
    expect(entry).toMatchObject({ reason: 'invalid_json', at: T + 5 });
    const letter = decodeDeadLetter(3, entry.record)!;
    expect(letter).toMatchObject({ id: 3, reason: 'invalid_json', message: 'not JSON', at: T + 5, replays: 0, envelope: true, truncated: false, bytes: 4 });
    expect(letter.element).toEqual(element);
    expect(letter.line).toEqual(line);
    expect(letter.envelopeHeader).toEqual({ v: 2, id: 'f.0:7', host: 'h', source: '/orders.log', ingestedAt: T });
    expect(notReplayable(letter)).toBeUndefined();
  });

  it('keep the head of a long line, and of an element that is not an envelope, and say why they cannot be replayed', () => {
    const long = Buffer.alloc(DEAD_LETTER_LINE_BYTES + 10, 0x61);
    const element = envelopeOf(long);
    const cut = decodeDeadLetter(1, deadLetterOf(element, 'invalid_json', 'm', T, parseEnvelope(element.toString())).record)!;
    expect(cut).toMatchObject({ truncated: true, bytes: DEAD_LETTER_LINE_BYTES + 10 });
    expect(cut.line).toEqual(long.subarray(0, DEAD_LETTER_LINE_BYTES));
    expect(notReplayable(cut)).toMatch(/first 4096 bytes/);
    const garbage = decodeDeadLetter(2, deadLetterOf(Buffer.alloc(9000, 0xff), 'invalid_envelope', 'm', T).record)!;
    expect(garbage).toMatchObject({ envelope: false, truncated: true, bytes: 9000 });
    expect(garbage.line).toEqual(Buffer.alloc(DEAD_LETTER_LINE_BYTES, 0xff));
    expect(notReplayable(garbage)).toBe('not a Crema envelope');
    expect(decodeDeadLetter(3, Buffer.from('no header'))).toBeUndefined();
  });

  it('carry a sane replay count only', () => {
    for (const [replays, kept] of [['3', 3], ['-1', 0], ['1e300', 0], ['1.5', 0]] as const) {
      const element = Buffer.from(`{"v":2,"host":"h","source":"s","id":"i","ingestedAt":${T},"replays":${replays}}\n{}`);
      expect(decodeDeadLetter(1, deadLetterOf(element, 'x', 'm', T, parseEnvelope(element.toString())).record)!.replays).toBe(kept);
    }
  });

  it('are indexed as <number, 16 digits>:<reason>', () => {
    expect(deadLetterMember(42, 'unknown_value')).toBe('0000000000000042:unknown_value');
    expect(parseDeadLetterMember('0000000000000042:unknown_value')).toEqual({ id: 42, reason: 'unknown_value' });
    // Letters of one millisecond sort by number.
    expect([deadLetterMember(10, 'x'), deadLetterMember(9, 'x')].sort()).toEqual([deadLetterMember(9, 'x'), deadLetterMember(10, 'x')]);
    expect(parseDeadLetterMember('x:y')).toBeUndefined();
    expect(parseDeadLetterMember(':y')).toBeUndefined();
  });
});

describe('crema dead text', () => {
  it('shows UTF-8 as is and escapes every byte that is not, and every control or reordering character', () => {
    expect(safeText(Buffer.from('{"a":"Thé ☕"}'))).toEqual({ text: '{"a":"Thé ☕"}', utf8: true, cut: false });
    expect(safeText(Buffer.from([0x00, 0xff, 0x50, 0x0d, 0x0a, 0x1b, 0x5b, 0x33, 0x31, 0x6d]))).toEqual({ text: '\\x00\\xffP\\r\\n\\x1b[31m', utf8: false, cut: false });
    // Overlong, surrogate, truncated and out-of-range sequences are bytes, not characters.
    expect(safeText(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82, 0xf4, 0x90, 0x80, 0x80])).text).toBe('\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82\\xf4\\x90\\x80\\x80');
    expect(safeText(Buffer.from('a\u202eb\u0085c\\d\u{1F600}'))).toEqual({ text: 'a\\u202eb\\u0085c\\\\d\u{1F600}', utf8: true, cut: false });
    expect(preview(Buffer.from('abcdef'), 3)).toBe('abc…');
    expect(preview(Buffer.from('abc'), 3)).toBe('abc');
  });

  it('reads durations and shows them', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('7')).toBeUndefined();
    expect(parseDuration('-1d')).toBeUndefined();
    expect(humanDuration(3_000)).toBe('3 s');
    expect(humanDuration(3_900_000)).toBe('1 h 5 min');
    expect(humanDuration(7 * 86_400_000)).toBe('7 d');
  });

  it('aligns tables', () => {
    expect(table(['A', 'NUMBER'], [['xyz', '1'], ['q', '1,000']], new Set([1]))).toBe('A    NUMBER\nxyz       1\nq     1,000');
  });
});

describe('crema dead arguments', () => {
  const now = 1_795_304_350_000;
  const usage = (argv: string[]) => {
    try {
      parseDeadArgs(argv, now);
    } catch (error) {
      if (error instanceof UsageError) return error.message;
      throw error;
    }
    throw new Error('expected a UsageError');
  };

  it('lists by default, and passes the settings flags on', () => {
    expect(parseDeadArgs([], now)).toMatchObject({ subcommand: 'list', limit: 20, settingArgs: [] });
    expect(parseDeadArgs(['--prefix', 'shop:', '--redis-url=redis://h:1', '--reason', 'a,b', '--reason', 'c', '--since', '2h'], now)).toMatchObject({
      subcommand: 'list',
      reasons: ['a', 'b', 'c'],
      since: now - 7_200_000,
      settingArgs: ['--prefix=shop:', '--redis-url=redis://h:1'],
    });
    expect(parseDeadArgs(['stats', '--since', '2026-11-21T10:00:00Z', '--until', String(now)], now)).toMatchObject({ since: Date.parse('2026-11-21T10:00:00Z'), until: now });
  });

  it('takes numbers, flags and filters where they make sense', () => {
    expect(parseDeadArgs(['show', '42', '--raw'], now)).toMatchObject({ subcommand: 'show', ids: [42], raw: true });
    expect(parseDeadArgs(['replay', '3', '4', '--to', 'head', '--dry-run'], now)).toMatchObject({ ids: [3, 4], where: 'head', dryRun: true, batch: 500 });
    expect(parseDeadArgs(['replay', '--reason', 'unknown_value', '--batch', '50'], now)).toMatchObject({ ids: [], reasons: ['unknown_value'], batch: 50 });
    expect(parseDeadArgs(['purge', '--older-than', '7d'], now)).toMatchObject({ olderThanMs: 604_800_000 });
    expect(usage(['show'])).toMatch(/one dead-letter number/);
    expect(usage(['show', 'abc'])).toMatch(/unknown subcommand|not a dead-letter number/);
    expect(usage(['list', '--raw'])).toBe('--raw is not a flag of crema dead list');
    expect(usage(['replay'])).toMatch(/say which dead letters/);
    expect(usage(['replay', '1', '--reason', 'x'])).toMatch(/either numbers or/);
    expect(usage(['purge'])).toMatch(/needs --older-than/);
    expect(usage(['purge', '--older-than', 'a week'])).toMatch(/duration/);
    expect(usage(['list', '--since', 'yesterday'])).toMatch(/--since must be a time/);
    expect(usage(['list', '--since', '2026-11-21T10:00:00'])).toMatch(/--since must be a time/);
    expect(usage(['list', '--limit', '0'])).toMatch(/--limit must be a whole number from 1/);
    expect(usage(['replay', '--all', '--to', 'middle'])).toMatch(/--to must be head or tail/);
    expect(usage(['replay', '--all', '--batch', '5001'])).toMatch(/--batch/);
    expect(usage(['list', '--window-seconds', '5'])).toMatch(/Unknown option '--window-seconds'/);
    expect(usage(['frobnicate'])).toMatch(/unknown subcommand "frobnicate"/);
    expect(usage(['list', '--reason', 'a b'])).toMatch(/is not a reason/);
  });
});
