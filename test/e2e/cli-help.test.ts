/**
 * The first hour with the real `crema` command: help for the program and for each command (every
 * flag with its variable, default and meaning, from the settings table), the version, and usage
 * errors that suggest what was meant. Help and version exit 0 on standard output; usage errors
 * exit 2 with one line on standard error and no stack trace.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type Command, SETTINGS, readsSetting, settingsMarkdown } from '../../core/settings/index.js';
import { type CremaRun, runCrema } from '../support/crema-process.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** Commands that run stages; `config` takes every flag of every command. */
// `crema dead` has subcommands and a help of its own (tested with it).
const STAGE_COMMANDS = COMMANDS.filter((c) => c !== 'config' && c !== 'dead');
/** A value no stage would accept: help must not read the settings. */
const BROKEN_ENV = { CREMA_WINDOW_SECONDS: 'zero', REDIS_URL: 'http://not-redis' };

const plain = (text: string) => text.replace(/`/g, '').replace(/\s+/g, ' ').trim();

function expectHelp(run: CremaRun): void {
  expect(run.stderr, 'standard error').toBe('');
  expect(run.code, run.stdout).toBe(0);
}

function expectUsageError(run: CremaRun): string {
  expect(run.stdout, 'standard output').toBe('');
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr, 'a stack trace').not.toMatch(/^\s+at /m);
  expect(run.stderr.trim().split('\n'), 'one line').toHaveLength(1);
  return run.stderr;
}

/** The blocks of a command's help, by flag: `  --flag …` and the indented lines under it. */
function flagBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const header = /^ {2}(?:-\w, )?--([a-z][a-z0-9-]*)/.exec(line);
    if (header) {
      current = header[1]!;
      blocks.set(current, line);
    } else if (current !== undefined && /^ {4,}\S/.test(line)) {
      blocks.set(current, `${blocks.get(current)!}\n${line}`);
    } else {
      current = undefined;
    }
  }
  return blocks;
}

/** How the help must show a setting's default for `command`. */
function expectedDefault(s: (typeof SETTINGS)[keyof typeof SETTINGS], command: Command): string {
  return s.commandDefaults?.[command] ?? (typeof s.default === 'string' ? s.default : plain(s.defaultDoc ?? 'none'));
}

describe('crema --help', () => {
  it('lists every command with what it does, and how to get more', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = await runCrema(args, BROKEN_ENV);
      expectHelp(run);
      for (const command of COMMANDS) expect(run.stdout, `${command} in crema ${args.join(' ')}`).toMatch(new RegExp(`^ {2}${command} {2,}\\w`, 'm'));
      expect(run.stdout).toContain('crema <command> --help');
      expect(run.stdout).toContain('--version');
    }
  });

  it('without a command, shows the same help but as a usage error', async () => {
    const run = await runCrema([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('usage: crema <command>');
    for (const command of COMMANDS) expect(run.stderr).toMatch(new RegExp(`^ {2}${command} {2,}\\w`, 'm'));
  });
});

describe('crema <command> --help', () => {
  it.each(STAGE_COMMANDS)('crema %s --help shows every flag of the command with its variable, default and meaning, and no other', async (command) => {
    const run = await runCrema([command, '--help'], BROKEN_ENV);
    expectHelp(run);
    expect(run.stdout).toContain(`usage: crema ${command} [flags]`);
    const blocks = flagBlocks(run.stdout);
    const settings = Object.values(SETTINGS).filter((s) => readsSetting(command, s));
    expect([...blocks.keys()].sort()).toEqual([...settings.map((s) => s.flag), 'help'].sort());
    for (const s of settings) {
      const block = blocks.get(s.flag)!;
      if (s.kind === 'boolean') expect(block.split('\n')[0]).toContain(`--no-${s.flag}`);
      expect(plain(block), s.flag).toContain(`${s.env}, default: ${expectedDefault(s, command)}`);
      expect(plain(block), s.flag).toContain(plain(s.doc));
    }
    // `crema help <command>` is the same text, and help wins over the rest of the line.
    expect((await runCrema(['help', command], BROKEN_ENV)).stdout).toBe(run.stdout);
    expect((await runCrema([command, '--no-such-flag', '-h'], BROKEN_ENV)).stdout).toBe(run.stdout);
  });

  it('crema config --help names --markdown and says it takes every flag', async () => {
    const run = await runCrema(['config', '--help'], BROKEN_ENV);
    expectHelp(run);
    expect(run.stdout).toContain('usage: crema config [flags]');
    expect([...flagBlocks(run.stdout).keys()].sort()).toEqual(['help', 'markdown']);
    expect(run.stdout).toMatch(/every flag of every command/);
  });
});

describe('crema --version', () => {
  it('prints the version of package.json', async () => {
    for (const args of [['--version'], ['-V'], ['version']]) {
      const run = await runCrema(args, BROKEN_ENV);
      expectHelp(run);
      expect(run.stdout).toBe(`crema ${VERSION}\n`);
    }
  });
});

describe('usage errors', () => {
  it('a mistyped command: did you mean', async () => {
    expect(expectUsageError(await runCrema(['colect']))).toContain('crema: unknown command "colect"; did you mean collect?');
    expect(expectUsageError(await runCrema(['proces', '--window-seconds', '5']))).toContain('did you mean process?');
    expect(expectUsageError(await runCrema(['verison']))).toContain('did you mean version?');
    const unknown = expectUsageError(await runCrema(['frobnicate']));
    expect(unknown).toContain('crema: unknown command "frobnicate"');
    expect(unknown).toContain('crema --help');
    expect(unknown).not.toContain('did you mean');
  });

  it('a mistyped flag: did you mean', async () => {
    for (const args of [['--window-secnds', '5'], ['--window-secnds=5'], ['--windows-seconds', '5']]) {
      expect(expectUsageError(await runCrema(['process', ...args]))).toContain(
        `crema process: unknown option ${args[0]!.split('=')[0]}; did you mean --window-seconds?`,
      );
    }
    expect(expectUsageError(await runCrema(['generate', '--no-orderd-at']))).toContain('did you mean --no-ordered-at?');
    expect(expectUsageError(await runCrema(['process', '--CREMA_WINDOW_SECONDS', '5']))).toContain('did you mean --window-seconds?');
    const unknown = expectUsageError(await runCrema(['process', '--frobnicate']));
    expect(unknown).toContain('crema process: unknown option --frobnicate');
    expect(unknown).toContain('crema process --help');
  });

  it("another command's flag: says which commands take it", async () => {
    expect(expectUsageError(await runCrema(['collect', '--rate', '5']))).toContain('crema collect: unknown option --rate; it is a flag of crema generate and crema up');
    expect(expectUsageError(await runCrema(['serve', '--window-seconds', '5']))).toContain('it is a flag of crema process and crema up');
    expect(expectUsageError(await runCrema(['process', '--markdown']))).toContain('it is a flag of crema config');
  });

  it('a bad value still names the setting, exit 2', async () => {
    const run = await runCrema(['process', '--window-seconds', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CREMA_WINDOW_SECONDS (--window-seconds): must be at least 1; got "0"');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('crema config', () => {
  it('prints the effective values, and the README table with --markdown', async () => {
    const run = await runCrema(['config', '--window-seconds', '30']);
    expectHelp(run);
    expect(run.stdout).toMatch(/^CREMA_WINDOW_SECONDS\s+30 {2}\(flag\)$/m);
    const markdown = await runCrema(['config', '--markdown']);
    expectHelp(markdown);
    expect(markdown.stdout).toBe(`${settingsMarkdown()}\n`);
  });
});

describe('crema dead --help', () => {
  it('shows the subcommands and their flags, and exits 0, without Redis', async () => {
    const run = await runCrema(['dead', '--help'], BROKEN_ENV);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: crema dead \[list\|stats\|show\|replay\|purge\|migrate\]/);
    for (const subcommand of ['list', 'stats', 'show N', 'replay', 'purge', 'migrate']) expect(run.stdout).toMatch(new RegExp(`^ {2}${subcommand}\\b`, 'm'));
  });
});
