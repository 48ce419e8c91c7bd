/** prometheus/yaml.ts: what it writes reads back, through PyYAML, as the data it was given. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type YamlValue, toYaml } from '../../prometheus/yaml.js';

function readBack(text: string): unknown {
  return JSON.parse(execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: text, encoding: 'utf8' }));
}

describe('toYaml', () => {
  it('writes data that YAML reads back unchanged, whatever the strings hold', () => {
    const tricky = [
      'plain',
      'yes',
      'No',
      'null',
      '~',
      '1',
      '0x1F',
      '1e3',
      '5m',
      '',
      ' leading space',
      'trailing space ',
      'a: b',
      '# not a comment',
      '- not a list',
      'sum(rate(x{result="counted"}[5m])) * 60 < 600',
      `it's "quoted"`,
      'back\\slash "and" quote',
      'tab\there',
      'ünïcode ☕',
      '{{ $value | humanize }}',
      '@at',
      '*star',
      '!bang',
      '%percent',
      '&amp',
      '|pipe',
      '>greater',
    ];
    const data: YamlValue = {
      strings: tricky,
      multiLine: '(\n  a > 0\n)\nunless b',
      multiLineEndingInNewline: 'one\ntwo\n',
      numbers: [0, -1, 2.5, 1e21],
      booleans: [true, false],
      nothing: null,
      empty: { list: [], map: {} },
      nested: [{ name: 'x', rules: [{ alert: 'A', labels: { severity: 'warning' } }] }],
      'key with spaces': 'v',
      '123': 'numeric key',
      skipped: undefined,
    };
    const { skipped: _, ...expected } = data as Record<string, YamlValue>;
    expect(readBack(toYaml(data, 'a header\nover two lines'))).toEqual(expected);
  });

  it('writes PromQL with double quotes single-quoted, and multi-line expressions as blocks', () => {
    const text = toYaml({ expr: 'up{job="x"} == 0', block: 'a\nb' });
    expect(text).toBe(`expr: 'up{job="x"} == 0'\nblock: |-\n  a\n  b\n`);
  });
});
