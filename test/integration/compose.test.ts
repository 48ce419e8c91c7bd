/**
 * The full stack's files, checked without a Docker engine: `docker-compose config` validates
 * docker-compose.yml and docker-compose.cluster.yml (interpolated with .env.example), and every
 * promise of each stack is checked on its normalised output: pinned images, health checks, start
 * order, restart policies, loopback-only ports, and every file a container mounts exists in the
 * repository. For the cluster file also: only real settings of each stage's command, one cluster and
 * one shard count for every stage, the nodes and the init service that joins them, and Prometheus
 * scraping every instance. Running the init service's script against real nodes is
 * compose-cluster-init.redis-cluster.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type Command, type Setting, SETTINGS, loadConfig, readsSetting } from '../../core/settings/index.js';
import { shardOfFile, shardPrefix } from '../../core/shards.js';
import { tempDir } from '../support/files.js';
import { parseYaml } from '../support/yaml.js';
import { metricsEndpoint } from '../../web/security.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: (string | { host_ip?: string; published?: string | number })[];
  volumes?: ({ type: string; source: string; target: string } | string)[];
  environment?: Record<string, string>;
  entrypoint?: string[];
  tmpfs?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string; ip_range?: string }[] } }>;
}

/** A compose file as docker-compose resolves it. */
function resolvedCompose(file = 'docker-compose.yml'): Compose {
  return parseYaml(execFileSync('docker-compose', ['--env-file', '.env.example', '-f', file, 'config'], { cwd: root, encoding: 'utf8' }));
}

/** A service's mounts as `source:target`. */
function mountsOf(compose: Compose, name: string): string[] {
  return (compose.services[name]!.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`));
}

/** Every bind mount names a file of the repository, every named volume is declared. */
function expectMountsExist(compose: Compose): void {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const volume of s.volumes ?? []) {
      const { type, source } = typeof volume === 'string' ? { type: volume.startsWith('.') || volume.startsWith('/') ? 'bind' : 'volume', source: volume.split(':')[0]! } : volume;
      if (type === 'bind') expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
      else expect(Object.keys(compose.volumes ?? {}), `${name} uses volume ${source}`).toContain(source);
    }
  }
}

/** Every variable a compose file interpolates has an example in .env.example. */
function expectEnvExamples(file: string): void {
  const raw = readFileSync(`${root}${file}`, 'utf8');
  const example = readFileSync(`${root}.env.example`, 'utf8');
  const needed = new Set([...raw.matchAll(/(?<!\$)\$\{(\w+)/g)].map((m) => m[1]!));
  expect(needed.size).toBeGreaterThan(0);
  for (const variable of needed) expect(example, variable).toMatch(new RegExp(`^${variable}=`, 'm'));
}

/** The variables of .env.example. */
function envExample(): Record<string, string> {
  const lines = readFileSync(`${root}.env.example`, 'utf8').split('\n').filter((line) => /^\w+=/.test(line));
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('docker-compose.yml', () => {
  const compose = resolvedCompose();
  const services = Object.entries(compose.services);
  const crema = services.filter(([, s]) => s.build !== undefined);

  it('runs one container per stage from the one Dockerfile, plus redis, influxdb, grafana, prometheus and alertmanager', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'collector', 'exporter', 'generator', 'grafana', 'influxdb', 'processor', 'prometheus', 'redis', 'web']);
    expect(Object.fromEntries(crema.map(([name, s]) => [name, s.command]))).toEqual({
      generator: ['generate'],
      collector: ['collect'],
      processor: ['process'],
      exporter: ['export'],
      web: ['serve'],
    });
    for (const [, s] of crema) {
      expect(s.build!.context).toBe(root.replace(/\/$/, ''));
      expect(COMMANDS).toContain(s.command![0]);
    }
  });

  it('pins every image, restarts every service, checks its health and waits for what it needs', () => {
    for (const [name, s] of services) {
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.healthcheck?.test?.length, `${name} has no health check`).toBeGreaterThan(0);
      for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        expect(condition, `${name} → ${dependency}`).toBe('service_healthy');
      }
    }
    for (const name of ['collector', 'processor', 'exporter', 'web']) expect(Object.keys(compose.services[name]!.depends_on ?? {})).toContain('redis');
    expect(Object.keys(compose.services.exporter!.depends_on ?? {})).toContain('influxdb');
    expect(compose.services.influxdb!.image).toBe('influxdb:1.12');
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, s] of services) {
      for (const port of s.ports ?? []) {
        const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
        expect(hostIp, `${name} publishes ${JSON.stringify(port)}`).toBe('127.0.0.1');
      }
    }
  });

  it('keeps Redis in an append-only file and Grafana closed to anonymous admins', () => {
    expect(compose.services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    const grafana = compose.services.grafana!.environment!;
    expect(grafana.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(grafana.GF_SECURITY_ADMIN_PASSWORD).toBe('change-me-grafana');
    const raw = readFileSync(`${root}docker-compose.yml`, 'utf8');
    // Passwords come from .env; the compose file holds none.
    expect(raw).toMatch(/GF_SECURITY_ADMIN_PASSWORD: \$\{GRAFANA_ADMIN_PASSWORD:\?/);
  });

  it('mounts only files that exist, and shares the order file between generator and collector', () => {
    expectMountsExist(compose);
    expect(mountsOf(compose, 'generator')).toContain('orders:/data');
    expect(mountsOf(compose, 'collector')).toContain('orders:/data');
    for (const file of [
      'grafana/provisioning/datasources/influxdb.yaml',
      'grafana/provisioning/datasources/prometheus.yaml',
      'grafana/provisioning/dashboards/crema.yaml',
      'grafana/provisioning/dashboards/crema/coffee-orders.json',
      'grafana/provisioning/dashboards/crema/pipeline-health.json',
    ]) {
      expect(existsSync(`${root}${file}`), file).toBe(true);
    }
    const home = compose.services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(existsSync(home.replace('/etc/grafana/provisioning', `${root}grafana/provisioning`)), home).toBe(true);
  });

  it('gives every variable the compose file needs an example in .env.example', () => {
    expectEnvExamples('docker-compose.yml');
  });
});

describe('docker-compose.yml: Prometheus and Alertmanager', () => {
  const compose = resolvedCompose();
  const mounts = (name: string) => mountsOf(compose, name);

  it('runs Prometheus and Alertmanager with the files of prometheus/, and Grafana with Prometheus as a data source', () => {
    expect(mounts('prometheus')).toContain(`${root}prometheus:/etc/prometheus`);
    expect(mounts('alertmanager')).toContain(`${root}prometheus/alertmanager.yml:/etc/alertmanager/alertmanager.yml`);
    expect(compose.services.prometheus!.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(compose.services.alertmanager!.command).toContain('--config.file=/etc/alertmanager/alertmanager.yml');
    expect(compose.services.grafana!.environment!.PROMETHEUS_URL).toBe('http://prometheus:9090');
  });

  it('scrapes every stage that serves metrics, on the port compose gives it', () => {
    const scrape = readFileSync(`${root}prometheus/prometheus.yml`, 'utf8');
    const ports: Record<string, string> = { generator: '9468', collector: '9465', processor: '9466', exporter: '9467', web: '8080' };
    for (const [name, port] of Object.entries(ports)) {
      const env = compose.services[name]!.environment!;
      expect(env.CREMA_METRICS_PORT ?? env.CREMA_WEB_PORT, name).toBe(port);
      expect(scrape, name).toContain(`"${name}:${port}"`);
    }
    expect(scrape).toContain('"alertmanager:9093"');
    const alertmanager = readFileSync(`${root}prometheus/alertmanager.yml`, 'utf8');
    expect(alertmanager).toContain(`url: http://web:${ports.web}/api/alerts`);
  });
});

describe.each([
  ['docker-compose.yml', 'prometheus.yml'],
  ['docker-compose.cluster.yml', 'prometheus.cluster.yml'],
])('%s: tokens of the web server', (composeFile, prometheusConfig) => {
  const compose = resolvedCompose(composeFile);
  const example = envExample();
  const raw = readFileSync(`${root}${composeFile}`, 'utf8');

  it('gives crema serve, which listens beyond loopback, the alerts and metrics tokens from .env', () => {
    const web = compose.services.web!.environment!;
    expect(web.CREMA_WEB_HOST).toBe('0.0.0.0');
    for (const variable of ['CREMA_ALERTS_TOKEN', 'CREMA_WEB_METRICS_TOKEN']) {
      expect(example[variable], variable).toMatch(/^.{16,}$/);
      expect(web[variable], variable).toBe(example[variable]);
      // Only from .env: compose refuses to start without it.
      expect(raw).toContain(`${variable}: \${${variable}:?set ${variable} in .env}`);
    }
    // What the container's `crema serve` makes of that environment.
    const config = loadConfig('serve', [], web);
    expect(config).toMatchObject({ alertsToken: example.CREMA_ALERTS_TOKEN, webMetricsToken: example.CREMA_WEB_METRICS_TOKEN });
    expect(metricsEndpoint(config)).toBe('on');
  });

  const alertmanagerFile = () => {
    const config = parseYaml<{ receivers: { name: string; webhook_configs: { url: string; http_config?: { authorization?: { credentials_file?: string } } }[] }[] }>(
      readFileSync(`${root}prometheus/alertmanager.yml`, 'utf8'),
    );
    const webhook = config.receivers.find((r) => r.name === 'crema-web')!.webhook_configs[0]!;
    expect(webhook.url).toBe('http://web:8080/api/alerts');
    return webhook.http_config?.authorization?.credentials_file;
  };
  const prometheusFile = () => {
    const config = parseYaml<{ scrape_configs: { job_name: string; authorization?: { credentials_file?: string } }[] }>(readFileSync(`${root}prometheus/${prometheusConfig}`, 'utf8'));
    return config.scrape_configs.find((j) => j.job_name === 'crema-web')!.authorization?.credentials_file;
  };

  it.each([
    ['alertmanager', 'CREMA_ALERTS_TOKEN', alertmanagerFile, '/bin/alertmanager', 'alertmanager.yml'],
    ['prometheus', 'CREMA_WEB_METRICS_TOKEN', prometheusFile, '/bin/prometheus', prometheusConfig],
  ])('%s sends %s: its entrypoint writes the token from .env to the file its config names, then runs the server', (service, variable, configuredFile, binary, configFile) => {
    const s = compose.services[service]!;
    const file = configuredFile();
    expect(file, `${service} config names no credentials file`).toMatch(/^\//);
    expect(s.environment?.[variable]).toBe(example[variable]);
    // In memory only, and in a directory of its own.
    expect(s.tmpfs?.some((t) => t.split(':')[0] === dirname(file!))).toBe(true);
    const [shell, flag, script, name, ...rest] = s.entrypoint!;
    expect([shell, flag, rest]).toEqual(['/bin/sh', '-c', []]);
    expect(s.command).toContain(`--config.file=/etc/${service}/${configFile}`);

    // Run the entrypoint as the container would, with the file's directory and the server moved here.
    const dir = tempDir();
    try {
      const server = dir.file('server');
      writeFileSync(server, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir.file('args')}'\n`);
      chmodSync(server, 0o755);
      // docker-compose prints `$$` for a literal `$`.
      const local = script!.replaceAll('$$', '$').replaceAll(dirname(file!), dir.path).replace(binary, server);
      expect(local).toContain(dir.path);
      expect(local).toContain(server);
      const token = 'a token with $HOME, "quotes" and spaces';
      execFileSync('/bin/sh', ['-c', local, name!, ...s.command!], { env: { PATH: process.env.PATH, [variable]: token } });
      const written = dir.file(basename(file!));
      expect(readFileSync(written, 'utf8')).toBe(token);
      expect(statSync(written).mode & 0o777).toBe(0o600);
      expect(readFileSync(dir.file('args'), 'utf8').trim().split('\n')).toEqual(s.command);
    } finally {
      dir.remove();
    }
  });
});

/** CRC16 (XMODEM) of a key's hash tag, modulo 16384: Redis Cluster's slot. */
function slotOf(tag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** The slot ranges `redis-cli --cluster create` gives `masters` masters (its allocation, from redis-cli.c). */
function createdSlotRanges(masters: number): [number, number][] {
  const perNode = 16384 / masters;
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < masters; i++) {
    let last = Math.round(cursor + perNode - 1);
    if (last > 16384 || i === masters - 1) last = 16383;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor += perNode;
  }
  return ranges;
}

const ipv4 = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const inSubnet = (address: string, cidr: string) => {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(base!) / size);
};

/** The setting a compose environment variable names: its variable, or a secret's `_FILE` form. */
function settingNamed(variable: string): Setting | undefined {
  return Object.values(SETTINGS as Record<string, Setting>).find((s) => s.env === variable || (s.secret && `${s.env}_FILE` === variable));
}

describe('docker-compose.cluster.yml', () => {
  const compose = resolvedCompose('docker-compose.cluster.yml');
  const single = resolvedCompose();
  const services = Object.entries(compose.services);
  const crema = services.filter(([, s]) => s.build !== undefined);
  const commandOf = (s: Service) => s.command![0] as Command;
  const named = (command: Command) => crema.filter(([, s]) => commandOf(s) === command).map(([name]) => name).sort();
  /** The stages that use Redis: every Crema service but the generators. */
  const redisStages = crema.filter(([, s]) => commandOf(s) !== 'generate');
  const nodeNames = ['redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5', 'redis-6'];
  const nodes = services.filter(([, s]) => /^redis:/.test(s.image ?? '') && s.command?.includes('--cluster-enabled'));
  const init = compose.services['redis-cluster-init']!;
  const example = envExample();
  const raw = readFileSync(`${root}docker-compose.cluster.yml`, 'utf8');

  it('runs two hosts (a generator and a collector each), three processors, an exporter and a web server from the one Dockerfile, on six Redis nodes', () => {
    expect(Object.fromEntries(crema.map(([name, s]) => [name, s.command]))).toEqual({
      'generator-a': ['generate'],
      'generator-b': ['generate'],
      'collector-a': ['collect'],
      'collector-b': ['collect'],
      'processor-1': ['process'],
      'processor-2': ['process'],
      'processor-3': ['process'],
      exporter: ['export'],
      web: ['serve'],
    });
    for (const [, s] of crema) {
      expect(s.build!.context).toBe(root.replace(/\/$/, ''));
      expect(s.image).toBe(single.services.collector!.image);
      expect(COMMANDS).toContain(commandOf(s));
    }
    expect(nodes.map(([name]) => name).sort()).toEqual(nodeNames);
    expect(Object.keys(compose.services).sort()).toEqual(
      [...crema.map(([name]) => name), ...nodeNames, 'redis-cluster-init', 'influxdb', 'grafana', 'prometheus', 'alertmanager'].sort(),
    );
  });

  it('pins every image, restarts every long-running service, checks its health and waits for what it needs', () => {
    for (const [name, s] of services) {
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        // The init service runs once and exits: the stages wait for it to have succeeded.
        expect(condition, `${name} → ${dependency}`).toBe(dependency === 'redis-cluster-init' ? 'service_completed_successfully' : 'service_healthy');
      }
      if (s === init) continue;
      expect(s.restart, name).toBe('unless-stopped');
      expect(s.healthcheck?.test?.length, `${name} has no health check`).toBeGreaterThan(0);
    }
    expect(init.restart).toBe('no');
    expect(Object.keys(init.depends_on ?? {}).sort()).toEqual(nodeNames);
    for (const [name, s] of redisStages) expect(Object.keys(s.depends_on ?? {}), name).toContain('redis-cluster-init');
    for (const name of named('collect')) expect(Object.keys(compose.services[name]!.depends_on ?? {})).toContain(name.replace('collector', 'generator'));
    expect(Object.keys(compose.services.exporter!.depends_on ?? {})).toContain('influxdb');
    // The same Redis as docker-compose.yml.
    for (const [name, s] of nodes) expect(s.image, name).toBe(single.services.redis!.image);
    expect(init.image).toBe(single.services.redis!.image);
  });

  it('publishes ports on 127.0.0.1 only, and none of a Redis node', () => {
    for (const [name, s] of services) {
      for (const port of s.ports ?? []) {
        const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
        expect(hostIp, `${name} publishes ${JSON.stringify(port)}`).toBe('127.0.0.1');
      }
    }
    for (const [name, s] of [...nodes, ['redis-cluster-init', init] as const]) expect(s.ports ?? [], name).toEqual([]);
  });

  it('mounts only files that exist; each host has its own order volume, which its collector reads only', () => {
    expectMountsExist(compose);
    const volumes = new Set<string>();
    for (const host of ['a', 'b']) {
      const volume = `orders-${host}`;
      volumes.add(volume);
      expect(mountsOf(compose, `generator-${host}`)).toEqual([`${volume}:/data`]);
      expect(mountsOf(compose, `collector-${host}`)).toEqual([`${volume}:/data`]);
      const [mount] = compose.services[`collector-${host}`]!.volumes!;
      expect(typeof mount === 'string' ? mount.split(':')[2] === 'ro' : (mount as { read_only?: boolean }).read_only, `collector-${host} may write its orders`).toBe(true);
      const file = compose.services[`collector-${host}`]!.environment!.CREMA_FILES!;
      expect(file).toBe(compose.services[`generator-${host}`]!.environment!.CREMA_FILES);
      expect(file.startsWith('/data/')).toBe(true);
    }
    expect(volumes.size).toBe(2);
  });

  it('gives every variable the compose file needs an example in .env.example', () => {
    expectEnvExamples('docker-compose.cluster.yml');
  });

  it('sets, in every Crema service, only settings its command reads, with values that command accepts', () => {
    for (const [name, s] of crema) {
      const command = commandOf(s);
      const environment = s.environment ?? {};
      for (const variable of Object.keys(environment)) {
        const setting = settingNamed(variable);
        expect(setting, `${name}: ${variable} is not a setting (core/settings/settings.ts)`).toBeDefined();
        expect(readsSetting(command, setting!), `${name}: crema ${command} does not read ${variable}`).toBe(true);
      }
      expect(() => loadConfig(command, [], environment), `${name}: crema ${command} refuses its environment`).not.toThrow();
    }
  });

  it('gives every stage that uses Redis the same seeds, every node with the password from .env, and one shard count', () => {
    expect(redisStages.map(([name]) => name).sort()).toEqual(['collector-a', 'collector-b', 'exporter', 'processor-1', 'processor-2', 'processor-3', 'web']);
    const seeds = new Set<string>();
    const shards = new Set<string | undefined>();
    for (const [name, s] of redisStages) {
      const env = s.environment!;
      expect(env.REDIS_URL, `${name} has REDIS_URL, which a cluster stage does not use`).toBeUndefined();
      expect(env.REDIS_CLUSTER_URLS, name).toBeDefined();
      seeds.add(env.REDIS_CLUSTER_URLS!);
      shards.add(env.CREMA_SHARDS);
    }
    expect(seeds.size).toBe(1);
    expect(shards.size).toBe(1);
    expect(Number([...shards][0])).toBeGreaterThan(1);
    const urls = [...seeds][0]!.split(',').map((seed) => new URL(seed));
    expect(urls.map((url) => `${url.protocol}//${url.host}`).sort()).toEqual(nodeNames.map((node) => `redis://${node}:6379`));
    for (const url of urls) {
      expect(decodeURIComponent(url.password)).toBe(example.REDIS_PASSWORD);
      expect(url.username).toBe('');
    }
    // Only from .env: compose refuses to start without it, and the file holds no password.
    expect(raw).toContain('${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}');
    expect(raw).not.toContain(example.REDIS_PASSWORD);
    // A generator only writes its file.
    for (const name of named('generate')) {
      const env = compose.services[name]!.environment!;
      for (const variable of ['REDIS_URL', 'REDIS_CLUSTER_URLS', 'CREMA_SHARDS']) expect(env[variable], `${name}: ${variable}`).toBeUndefined();
    }
  });

  it('puts each shard of the default prefix in another master of the slots redis-cli gives three masters', () => {
    expect(slotOf('123456789')).toBe(0x31c3);
    const shards = Number(compose.services['processor-1']!.environment!.CREMA_SHARDS);
    const prefix = SETTINGS.prefix.default as string;
    expect(compose.services['processor-1']!.environment!.CREMA_PREFIX).toBeUndefined();
    const ranges = createdSlotRanges(nodes.length / 2);
    expect(ranges).toEqual([[0, 5460], [5461, 10922], [10923, 16383]]);
    const masters = Array.from({ length: shards }, (_, shard) => {
      const tag = /^\{([^}]+)\}/.exec(shardPrefix(prefix, shard, shards, true))![1]!;
      const slot = slotOf(tag);
      return ranges.findIndex(([from, to]) => slot >= from && slot <= to);
    });
    expect(new Set(masters).size).toBe(Math.min(shards, ranges.length));
  });

  it('joins the six nodes with one replica each, and only when they are not joined yet', () => {
    expect(init.entrypoint).toEqual(['/bin/sh', '-c']);
    const script = init.command!.join('\n');
    const creates = script.split('\n').filter((line) => /redis-cli .*--cluster create/.test(line));
    expect(creates).toHaveLength(1);
    const args = creates[0]!.trim().split(/\s+/);
    expect(args.slice(0, 3)).toEqual(['redis-cli', '--cluster', 'create']);
    const named = args.filter((arg) => /^[\w-]+:\d+$/.test(arg));
    expect(named).toEqual(nodeNames.map((node) => `${node}:6379`));
    expect(args.slice(3 + named.length)).toEqual(['--cluster-replicas', '1', '--cluster-yes']);
    // The nodes it checks for assigned slots (and waits on) are the ones it creates.
    expect(/nodes='([^']*)'/.exec(script)?.[1]?.split(' ')).toEqual(named);
    expect(script).toMatch(/cluster_slots_assigned/);
    expect(init.environment?.REDISCLI_AUTH).toBe(example.REDIS_PASSWORD);
  });

  it('runs every node with cluster mode, an append-only file and a volume of its own, at a fixed address outside the dynamic range', () => {
    const [network] = compose.networks?.default?.ipam?.config ?? [];
    expect(network?.subnet).toBeDefined();
    expect(network?.ip_range).toBeDefined();
    const addresses = new Set<string>();
    const volumes = new Set<string>();
    for (const [name, s] of nodes) {
      expect(s.command, name).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
      expect(s.command!.join(' '), name).toContain('--cluster-config-file nodes.conf');
      const [volume, ...others] = mountsOf(compose, name);
      expect(others, name).toEqual([]);
      expect(volume, name).toBe(`${name}:/data`);
      volumes.add(volume!);
      const address = s.networks?.default?.ipv4_address;
      expect(address, `${name} has no fixed address`).toBeDefined();
      expect(inSubnet(address!, network!.subnet!), `${name} at ${address}`).toBe(true);
      expect(inSubnet(address!, network!.ip_range!), `${name} at ${address} could be given to another container`).toBe(false);
      addresses.add(address!);
    }
    expect(volumes.size).toBe(6);
    expect(addresses.size).toBe(6);
  });

  it('requires the password from .env on every node, and gives it to a replica for its master (masterauth)', () => {
    const dir = tempDir();
    try {
      // The image's entrypoint, moved here: it prints what it would run.
      const entry = dir.file('docker-entrypoint.sh');
      writeFileSync(entry, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir.file('args')}'\n`);
      chmodSync(entry, 0o755);
      const password = 'a password with $HOME, "quotes" and spaces';
      for (const [name, s] of nodes) {
        expect(s.environment?.REDISCLI_AUTH, name).toBe(example.REDIS_PASSWORD);
        expect(s.healthcheck?.test, name).toEqual(['CMD', 'redis-cli', 'ping']);
        const [shell, flag, script, argv0, ...rest] = s.entrypoint!;
        expect([shell, flag, rest]).toEqual(['/bin/sh', '-c', []]);
        const local = script!.replaceAll('$$', '$');
        execFileSync('/bin/sh', ['-c', local, argv0!, ...s.command!], { env: { PATH: `${dir.path}:${process.env.PATH}`, REDISCLI_AUTH: password } });
        const args = readFileSync(dir.file('args'), 'utf8').split('\n').slice(0, -1);
        expect(args, name).toEqual(['redis-server', ...s.command!, '--requirepass', password, '--masterauth', password]);
      }
    } finally {
      dir.remove();
    }
  });

  it('runs two collectors on hosts of their own, whose files go to different shards, and three processors with names of their own', () => {
    const shards = Number(compose.services['collector-a']!.environment!.CREMA_SHARDS);
    const collectors = named('collect').map((name) => compose.services[name]!.environment!);
    expect(collectors).toHaveLength(2);
    expect(new Set(collectors.map((env) => env.CREMA_HOST)).size).toBe(2);
    for (const env of collectors) expect(env.CREMA_SHARD).toBeUndefined();
    expect(new Set(collectors.map((env) => shardOfFile(env.CREMA_HOST!, env.CREMA_FILES!, shards))).size).toBe(2);
    for (const host of ['a', 'b']) {
      expect(compose.services[`generator-${host}`]!.environment!.CREMA_HOST).toBe(compose.services[`collector-${host}`]!.environment!.CREMA_HOST);
    }
    const consumers = named('process').map((name) => compose.services[name]!.environment!.CREMA_CONSUMER);
    expect(consumers).toHaveLength(3);
    expect(new Set(consumers).size).toBe(3);
    expect(named('export')).toHaveLength(1);
    expect(named('serve')).toHaveLength(1);
  });

  it('runs InfluxDB, Grafana and Alertmanager exactly as docker-compose.yml does', () => {
    for (const name of ['influxdb', 'grafana', 'alertmanager']) expect(compose.services[name], name).toEqual(single.services[name]);
    const { command, ...prometheus } = compose.services.prometheus!;
    const { command: singleCommand, ...singlePrometheus } = single.services.prometheus!;
    expect(prometheus).toEqual(singlePrometheus);
    expect(command).toEqual(singleCommand!.map((arg) => arg.replace('prometheus.yml', 'prometheus.cluster.yml')));
  });
});

describe('docker-compose.cluster.yml: Prometheus', () => {
  const compose = resolvedCompose('docker-compose.cluster.yml');
  type ScrapeConfig = { job_name: string; authorization?: unknown; static_configs: { targets: string[] }[] };
  type PrometheusConfig = { rule_files: string[]; alerting: unknown; scrape_configs: ScrapeConfig[] };
  const cluster = parseYaml<PrometheusConfig>(readFileSync(`${root}prometheus/prometheus.cluster.yml`, 'utf8'));
  const single = parseYaml<PrometheusConfig>(readFileSync(`${root}prometheus/prometheus.yml`, 'utf8'));

  it('uses the rules, Alertmanager and jobs of prometheus.yml', () => {
    expect(mountsOf(compose, 'prometheus')).toContain(`${root}prometheus:/etc/prometheus`);
    expect(cluster.rule_files).toEqual(single.rule_files);
    expect(cluster.alerting).toEqual(single.alerting);
    expect(cluster.scrape_configs.map((j) => j.job_name)).toEqual(single.scrape_configs.map((j) => j.job_name));
    const web = (config: PrometheusConfig) => config.scrape_configs.find((j) => j.job_name === 'crema-web')!.authorization;
    expect(web(cluster)).toEqual(web(single));
  });

  it('scrapes every instance of every stage, on the port compose gives it, and nothing else', () => {
    const jobs: Record<string, Command> = { 'crema-generator': 'generate', 'crema-collector': 'collect', 'crema-processor': 'process', 'crema-exporter': 'export', 'crema-web': 'serve' };
    for (const [job, command] of Object.entries(jobs)) {
      const targets = cluster.scrape_configs.find((j) => j.job_name === job)!.static_configs.flatMap((c) => c.targets);
      const expected = Object.entries(compose.services)
        .filter(([, s]) => s.build !== undefined && s.command![0] === command)
        .map(([name, s]) => `${name}:${s.environment!.CREMA_METRICS_PORT ?? s.environment!.CREMA_WEB_PORT}`);
      expect(expected.length, job).toBeGreaterThan(0);
      expect(targets.sort(), job).toEqual(expected.sort());
    }
    const others = (config: PrometheusConfig) => config.scrape_configs.filter((j) => !(j.job_name in jobs));
    expect(others(cluster)).toEqual(others(single));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
  const stages = dockerfile.split('\n').filter((l) => l.startsWith('FROM '));

  it('builds in stages from a pinned base and ships production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) expect(from).toMatch(/^FROM node:\d+\.\d+-[\w-]+/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(final).not.toMatch(/COPY --from=build \/app\/node_modules/);
  });

  it('runs as a non-root user', () => {
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^USER (?!root\b|0\b)\w+/m);
  });

  it('leaves the build context free of local state', () => {
    const ignored = readFileSync(`${root}.dockerignore`, 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.env', '.git', 'data']) expect(ignored).toContain(entry);
  });
});

describe('Grafana provisioning', () => {
  it('points the dashboards at the provisioned InfluxDB data source, with credentials from the environment', () => {
    const datasource = readFileSync(`${root}grafana/provisioning/datasources/influxdb.yaml`, 'utf8');
    expect(datasource).toMatch(/uid: crema-influxdb/);
    expect(datasource).toMatch(/password: \$\{INFLUX_READ_PASSWORD\}/);
    const provider = readFileSync(`${root}grafana/provisioning/dashboards/crema.yaml`, 'utf8');
    expect(provider).toMatch(/path: \/etc\/grafana\/provisioning\/dashboards\/crema/);
    expect(provider).toMatch(/folder: Crema/);
    const grafana = resolvedCompose().services.grafana!.environment!;
    for (const variable of datasource.matchAll(/\$\{(\w+)\}/g)) expect(grafana[variable[1]!], variable[1]).toBeTruthy();
  });
});
