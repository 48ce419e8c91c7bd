/** YAML for tests, read through PyYAML (docker-compose's own YAML library): the repo writes YAML but has no parser. */
import { execFileSync } from 'node:child_process';

export function parseYaml<T>(yaml: string): T {
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json) as T;
}
