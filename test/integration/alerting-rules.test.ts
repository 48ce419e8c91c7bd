/**
 * The alerting files under prometheus/: built from TypeScript and the thresholds config without
 * drift, accepted by Debian's `promtool` and `amtool`, and the rules' own promtool unit tests
 * (fire, stay quiet, resolve) pass, also for other thresholds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Thresholds } from '../../core/thresholds.js';
import { ALERT, PRODUCTION_TIMING, alertRuleGroups } from '../../prometheus/alert-rules.js';
import { alertingFiles } from '../../prometheus/files.js';
import { ruleTests } from '../../prometheus/rule-tests.js';
import { toYaml } from '../../prometheus/yaml.js';
import { E2E_TIMING } from '../support/prometheus.js';
import { tempDir } from '../support/files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function run(tool: string, args: readonly string[], cwd = root): string {
  try {
    return execFileSync(tool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

describe('prometheus/ alerting files', () => {
  it('are what prometheus/alert-rules.ts and rule-tests.ts build (run `npm run alerting` after a change)', () => {
    for (const { path, text } of alertingFiles()) expect(readFileSync(join(root, path), 'utf8'), path).toBe(text);
  });

  it('take every order-rate threshold from config/thresholds.json', () => {
    const thresholds = JSON.parse(readFileSync(join(root, 'config/thresholds.json'), 'utf8')) as Thresholds;
    const rules = new Map(alertRuleGroups().flatMap((g) => g.rules.map((r) => [r.alert, r.expr] as const)));
    expect(rules.get(ALERT.orderRateLow)).toMatch(new RegExp(`< ${thresholds.ordersPerMinute.low}$`));
    expect(rules.get(ALERT.orderRateHigh)).toMatch(new RegExp(`> ${thresholds.ordersPerMinute.high}$`));
    expect(rules.get(ALERT.drinkRateLow)).toMatch(new RegExp(`< ${thresholds.drinksPerMinute.low}$`));
    expect(rules.get(ALERT.drinkRateHigh)).toMatch(new RegExp(`> ${thresholds.drinksPerMinute.high}$`));
  });

  it('pass promtool check config (which checks the rule files too) and amtool check-config', () => {
    // promtool wants the web server's metrics token file, which compose writes at start-up: a copy
    // of the config names one that exists, and sees the same rule files.
    // prometheus.cluster.yml is docker-compose.cluster.yml's: the same rules, more targets.
    for (const file of ['prometheus.yml', 'prometheus.cluster.yml']) {
      const dir = tempDir();
      try {
        const tokenFile = '/run/crema/web-metrics-token';
        const config = readFileSync(join(root, 'prometheus', file), 'utf8');
        expect(config, file).toContain(`credentials_file: ${tokenFile}`);
        writeFileSync(dir.file('web-metrics-token'), 'a-token-for-promtool');
        writeFileSync(dir.file(file), config.replace(tokenFile, dir.file('web-metrics-token')));
        symlinkSync(join(root, 'prometheus/rules'), dir.file('rules'));
        expect(run('promtool', ['check', 'config', dir.file(file)]), file).toMatch(/SUCCESS: 9 rules found/);
      } finally {
        dir.remove();
      }
    }
    expect(run('amtool', ['check-config', 'prometheus/alertmanager.yml'])).toMatch(/SUCCESS/);
  });

  it('pass their promtool unit tests: each alert fires, stays quiet and resolves', () => {
    const output = run('promtool', ['test', 'rules', 'crema.rules.test.yml'], join(root, 'prometheus/tests'));
    expect(output).toMatch(/SUCCESS/);
    expect(output).not.toMatch(/FAILED/);
  });

  it('keep passing their unit tests when the thresholds change', () => {
    const dir = tempDir();
    try {
      const other: Thresholds = { ordersPerMinute: { low: 50, high: 400 }, drinksPerMinute: { low: 120, high: 2000 } };
      writeFileSync(dir.file('crema.rules.yml'), toYaml({ groups: alertRuleGroups(PRODUCTION_TIMING, other) as never }));
      writeFileSync(dir.file('test.yml'), toYaml(ruleTests(other)).replace('../rules/crema.rules.yml', 'crema.rules.yml'));
      expect(readFileSync(dir.file('crema.rules.yml'), 'utf8')).toContain('* 60 < 50');
      expect(run('promtool', ['test', 'rules', 'test.yml'], dir.path)).toMatch(/SUCCESS/);
    } finally {
      dir.remove();
    }
  });

  it('check the short timing of the end-to-end test too', () => {
    const dir = tempDir();
    try {
      writeFileSync(dir.file('e2e.rules.yml'), toYaml({ groups: alertRuleGroups(E2E_TIMING) as never }));
      expect(run('promtool', ['check', 'rules', dir.file('e2e.rules.yml')])).toMatch(/SUCCESS: 9 rules found/);
    } finally {
      dir.remove();
    }
  });
});
