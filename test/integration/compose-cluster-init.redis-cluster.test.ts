/**
 * docker-compose.cluster.yml's Redis nodes and its init service, run here without Docker: six local
 * `redis-server`s started through the nodes' own entrypoint and arguments (the image's entrypoint
 * replaced by one that adds a loopback port and a directory), then the init service's script with
 * the node names replaced by their ports. It must join them into 3 masters with a replica each, whose
 * links to their masters are up (masterauth), and, run again, create nothing and still exit 0.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { tempDir } from '../support/files.js';
import { freeNodePort } from '../support/redis-cluster.js';
import { killAndWait } from '../support/servers.js';
import { parseYaml } from '../support/yaml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Service {
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
}

const compose = parseYaml<{ services: Record<string, Service> }>(
  execFileSync('docker-compose', ['--env-file', '.env.example', '-f', 'docker-compose.cluster.yml', 'config'], { cwd: root, encoding: 'utf8' }),
);
const nodeNames = Object.keys(compose.services).filter((name) => compose.services[name]!.command?.includes('--cluster-enabled')).sort();
const init = compose.services['redis-cluster-init']!;
const password = init.environment!.REDISCLI_AUTH!;
const dir = tempDir();
const nodes: { name: string; port: number; child?: ChildProcess }[] = [];

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { env: { PATH: process.env.PATH, REDISCLI_AUTH: password } });
  return stdout;
}

beforeAll(async () => {
  expect(nodeNames).toHaveLength(6);
  // Stands in for the image's docker-entrypoint.sh: runs the local redis-server with what the
  // compose entrypoint passes, on a loopback port and in a directory of the node's own.
  writeFileSync(dir.file('docker-entrypoint.sh'), '#!/bin/sh\n[ "$1" = redis-server ] || exit 64\nshift\nexec redis-server "$@" --port "$NODE_PORT" --bind 127.0.0.1 --dir "$NODE_DIR" --logfile "$NODE_DIR/redis.log" --save ""\n');
  chmodSync(dir.file('docker-entrypoint.sh'), 0o755);
  for (const name of nodeNames) {
    const node = { name, port: await freeNodePort() };
    nodes.push(node);
    mkdirSync(dir.file(name));
    const { entrypoint, command, environment } = compose.services[name]!;
    const [shell, flag, script, argv0] = entrypoint!;
    // docker-compose prints `$$` for a literal `$`; the node gets its environment from compose.
    const child = spawn(shell!, [flag!, script!.replaceAll('$$', '$'), argv0!, ...command!], {
      stdio: 'ignore',
      env: { PATH: `${dir.path}:${process.env.PATH}`, ...environment, NODE_PORT: String(node.port), NODE_DIR: dir.file(name) },
    });
    Object.assign(node, { child });
  }
  for (const node of nodes) {
    await eventually(async () => (await cli(node.port, 'ping').catch(() => '')).trim() === 'PONG', { timeoutMs: 10_000, message: `${node.name} did not answer` });
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => killAndWait(n.child)));
  dir.remove();
});

/** The init service's script, pointed at the local nodes. */
function initScript(): string {
  let script = init.command!.join('\n').replaceAll('$$', '$');
  for (const node of nodes) script = script.replaceAll(`${node.name}:6379`, `127.0.0.1:${node.port}`);
  expect(script).not.toMatch(/redis-\d:6379/);
  return script;
}

/** Masters with slots, and the master of each replica, as the first node sees them. */
async function topology(): Promise<{ masters: string[]; replicaOf: string[] }> {
  const lines = (await cli(nodes[0]!.port, 'cluster', 'nodes')).trim().split('\n').map((line) => line.split(' '));
  return {
    masters: lines.filter((l) => l[2]!.includes('master') && l.length > 8).map((l) => l[0]!).sort(),
    replicaOf: lines.filter((l) => l[2]!.includes('slave')).map((l) => l[3]!).sort(),
  };
}

it('requires the password on every node', async () => {
  for (const node of nodes) {
    const { stdout } = await run('redis-cli', ['-p', String(node.port), 'ping'], { env: { PATH: process.env.PATH } });
    expect(stdout, node.name).toMatch(/NOAUTH/);
  }
});

it('joins the six nodes into 3 masters with a replica each, and creates nothing when run again', async () => {
  const env = { PATH: process.env.PATH, ...init.environment };
  const first = await run(init.entrypoint![0]!, [...init.entrypoint!.slice(1), initScript()], { env, timeout: 90_000 });
  expect(first.stdout).toMatch(/\[OK\] All 16384 slots covered/);

  // The replicas' roles reach every node by gossip, shortly after the script ends.
  await eventually(
    async () => {
      const { masters, replicaOf } = await topology();
      return masters.length === 3 && JSON.stringify(replicaOf) === JSON.stringify(masters);
    },
    { timeoutMs: 30_000, message: async () => `not 3 masters with a replica each: ${JSON.stringify(await topology())}` },
  );
  const created = await topology();
  // Every replica reached its master with the password (masterauth).
  await eventually(
    async () => {
      const roles = await Promise.all(nodes.map((n) => cli(n.port, 'info', 'replication')));
      return roles.filter((r) => /role:slave/.test(r)).length === 3 && roles.every((r) => !/role:slave/.test(r) || /master_link_status:up/.test(r));
    },
    { timeoutMs: 30_000, message: 'the replicas did not all link to their masters' },
  );

  const second = await run(init.entrypoint![0]!, [...init.entrypoint!.slice(1), initScript()], { env, timeout: 90_000 });
  expect(second.stdout).toMatch(/exists already/);
  expect(second.stdout).not.toMatch(/Performing hash slots allocation/);
  expect(await topology()).toEqual(created);
}, 120_000);
