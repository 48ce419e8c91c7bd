/** Help texts and suggestions, without a process: derived from the command and settings tables. */
import { describe, expect, it } from 'vitest';
import { answer, commandHelp, programHelp, versionLine } from '../../cli/help.js';
import { closest, editDistance, findUnknownFlag, unknownCommandMessage, unknownFlagMessage } from '../../cli/suggest.js';
import { COMMAND_FLAGS, COMMAND_SUMMARIES, COMMANDS, SETTINGS, readsSetting } from '../../core/settings/index.js';

describe('suggestions', () => {
  it('measures edits, a swap of two neighbours as one', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('verison', 'version')).toBe(1);
    expect(editDistance('collect', 'collect')).toBe(0);
  });

  it('suggests what is close for the length of the word, or what it starts', () => {
    expect(closest('colect', COMMANDS)).toEqual(['collect']);
    expect(closest('PROCES', COMMANDS)).toEqual(['process']);
    expect(closest('proc', COMMANDS)).toEqual(['process']);
    expect(closest('frobnicate', COMMANDS)).toEqual([]);
    expect(closest('up', COMMANDS)).toEqual(['up']);
    expect(closest('xp', COMMANDS)).toEqual(['up']);
    expect(closest('x', COMMANDS)).toEqual([]);
    expect(closest('window', ['window-seconds', 'grace-seconds'])).toEqual(['window-seconds']);
    expect(closest('window_seconds', ['window-seconds'])).toEqual(['window-seconds']);
    expect(closest('abcd', ['abce', 'abcf'])).toEqual(['abce', 'abcf']);
  });

  it('finds the first flag a command does not take, before a --', () => {
    expect(findUnknownFlag('process', ['--window-seconds', '5', '--prefix=x:'])).toBeUndefined();
    expect(findUnknownFlag('generate', ['--no-ordered-at', '--ordered-at'])).toBeUndefined();
    expect(findUnknownFlag('config', ['--markdown', '--rate', '5', '--window-seconds', '3'])).toBeUndefined();
    expect(findUnknownFlag('process', ['--window-secnds=5'])).toBe('--window-secnds');
    expect(findUnknownFlag('process', ['--prefix', 'x:', '-x'])).toBe('-x');
    expect(findUnknownFlag('process', ['--', '--whatever'])).toBeUndefined();
    expect(findUnknownFlag('collect', ['--no-from'])).toBe('--no-from');
  });

  it('says what a wrong flag probably meant, or which commands take it', () => {
    expect(unknownFlagMessage('process', '--window-secnds')).toBe('crema process: unknown option --window-secnds; did you mean --window-seconds?');
    expect(unknownFlagMessage('collect', '--rate')).toBe('crema collect: unknown option --rate; it is a flag of crema generate and crema up');
    expect(unknownFlagMessage('collect', '--no-ordered-at')).toBe('crema collect: unknown option --no-ordered-at; it is a flag of crema generate and crema up');
    expect(unknownFlagMessage('collect', '--rat')).toBe('crema collect: unknown option --rat; did you mean --rate? it is a flag of crema generate and crema up');
    expect(unknownFlagMessage('serve', '--influx-url')).toBe('crema serve: unknown option --influx-url; it is a flag of crema export and crema up');
    expect(unknownFlagMessage('generate', '--markdown')).toBe('crema generate: unknown option --markdown; it is a flag of crema config');
    expect(unknownFlagMessage('process', '--CREMA_WINDOW_SECONDS')).toBe('crema process: unknown option --CREMA_WINDOW_SECONDS; did you mean --window-seconds?');
    expect(unknownFlagMessage('serve', '--crema-rate')).toBe('crema serve: unknown option --crema-rate; did you mean --rate? it is a flag of crema generate and crema up');
    expect(unknownFlagMessage('process', '--frobnicate')).toBe('crema process: unknown option --frobnicate; crema process --help lists its flags');
  });

  it('says what a wrong command probably meant', () => {
    expect(unknownCommandMessage('colect')).toBe('crema: unknown command "colect"; did you mean collect?');
    expect(unknownCommandMessage('hlep')).toBe('crema: unknown command "hlep"; did you mean help?');
    expect(unknownCommandMessage('zzzzzz')).toBe('crema: unknown command "zzzzzz"; crema --help lists the commands');
  });
});

describe('help', () => {
  it('lists every command of the table with its summary', () => {
    const text = programHelp();
    for (const command of COMMANDS) {
      expect(COMMAND_SUMMARIES[command].length).toBeGreaterThan(10);
      expect(text.replace(/\s+/g, ' ')).toContain(`${command} ${COMMAND_SUMMARIES[command]}`);
    }
  });

  it('lists, for every command, each flag it takes and only those, in lines of at most 80 characters', () => {
    for (const command of COMMANDS) {
      const text = commandHelp(command);
      const titles = [...text.matchAll(/^ {2}(?:-h, )?--([a-z0-9-]+)/gm)].map((m) => m[1]);
      const all = Object.values(SETTINGS).filter((s) => readsSetting(command, s));
      const listed = all.length === Object.keys(SETTINGS).length ? [] : all.map((s) => s.flag);
      expect(titles, command).toEqual([...listed, ...(COMMAND_FLAGS[command] ?? []).map((f) => f.flag), 'help']);
      for (const line of text.split('\n')) if (line.includes(' ')) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });

  it('shows the default a command runs with', () => {
    expect(commandHelp('collect')).toContain('CREMA_METRICS_PORT, default: 9465');
    expect(commandHelp('up')).toContain('CREMA_METRICS_PORT, default: 9464');
    expect(commandHelp('process')).toContain('CREMA_GRACE_SECONDS, default: the window size');
    expect(commandHelp('export')).toContain('INFLUX_TOKEN, default: none');
    expect(commandHelp('collect')).toContain('--from <beginning|end>');
    expect(commandHelp('generate')).toContain('--ordered-at, --no-ordered-at');
    expect(commandHelp('serve')).not.toContain('`');
  });

  it('answers help, version and usage errors, and nothing for a command to run', () => {
    expect(answer(['process', '--window-seconds', '5'])).toBeUndefined();
    expect(answer(['process', '--', '--help'])).toBeUndefined();
    expect(answer(['process', '--window-seconds', '5', '--help'])).toEqual({ stdout: commandHelp('process') });
    expect(answer(['help', 'up'])).toEqual({ stdout: commandHelp('up') });
    expect(answer(['help'])).toEqual({ stdout: programHelp() });
    expect(answer([])).toEqual({ stderr: programHelp() });
    expect(answer(['version'])).toEqual({ stdout: versionLine() });
    expect(versionLine()).toMatch(/^crema \d+\.\d+\.\d+\n$/);
    expect(answer(['help', 'colect'])).toEqual({ stderr: 'crema: unknown command "colect"; did you mean collect?\n' });
    expect(answer(['process', '--rate', '5'])).toEqual({ stderr: 'crema process: unknown option --rate; it is a flag of crema generate and crema up\n' });
  });
});
