/** The generated alerting files, as the build writes them and the drift test compares them. */
import { RULES_FILE, alertRuleGroups } from './alert-rules.js';
import { RULE_TESTS_FILE, ruleTests } from './rule-tests.js';
import { type YamlValue, toYaml } from './yaml.js';

const HEADER = 'Written by `npm run alerting` from prometheus/%s and config/thresholds.json.\nEdit those and rebuild; a test fails when this file differs from what they build.';

/** Every generated file: its path relative to the repository root and its text. */
export function alertingFiles(): { readonly path: string; readonly text: string }[] {
  return [
    { path: RULES_FILE, text: toYaml({ groups: alertRuleGroups() as unknown as YamlValue }, HEADER.replace('%s', 'alert-rules.ts')) },
    { path: RULE_TESTS_FILE, text: toYaml(ruleTests(), HEADER.replace('%s', 'rule-tests.ts')) },
  ];
}
