/**
 * The full stack's files, checked without a Docker engine: `docker-compose config` validates
 * docker-compose.yml (interpolated with .env.example), and every promise of the stack is checked on
 * its normalised output: pinned images, health checks, start order, restart policies, loopback-only
 * ports, and every file a container mounts exists in the repository.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, loadConfig } from '../../core/settings/index.js';
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
}

/** The compose file as docker-compose resolves it. */
function resolvedCompose(): { services: Record<string, Service>; volumes?: Record<string, unknown> } {
  return parseYaml(execFileSync('docker-compose', ['--env-file', '.env.example', '-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' }));
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
    for (const [name, s] of services) {
      for (const volume of s.volumes ?? []) {
        const { type, source } = typeof volume === 'string' ? { type: volume.startsWith('.') || volume.startsWith('/') ? 'bind' : 'volume', source: volume.split(':')[0]! } : volume;
        if (type === 'bind') expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name} uses volume ${source}`).toContain(source);
      }
    }
    const mounts = (name: string) => (compose.services[name]!.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`));
    expect(mounts('generator')).toContain('orders:/data');
    expect(mounts('collector')).toContain('orders:/data');
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
    const raw = readFileSync(`${root}docker-compose.yml`, 'utf8');
    const example = readFileSync(`${root}.env.example`, 'utf8');
    const needed = new Set([...raw.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!));
    for (const variable of needed) expect(example, variable).toMatch(new RegExp(`^${variable}=`, 'm'));
  });
});

describe('docker-compose.yml: Prometheus and Alertmanager', () => {
  const compose = resolvedCompose();
  const mounts = (name: string) => (compose.services[name]!.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`));

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

describe('docker-compose.yml: tokens of the web server', () => {
  const compose = resolvedCompose();
  const example = envExample();
  const raw = readFileSync(`${root}docker-compose.yml`, 'utf8');

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
    const config = parseYaml<{ scrape_configs: { job_name: string; authorization?: { credentials_file?: string } }[] }>(readFileSync(`${root}prometheus/prometheus.yml`, 'utf8'));
    return config.scrape_configs.find((j) => j.job_name === 'crema-web')!.authorization?.credentials_file;
  };

  it.each([
    ['alertmanager', 'CREMA_ALERTS_TOKEN', alertmanagerFile, '/bin/alertmanager'],
    ['prometheus', 'CREMA_WEB_METRICS_TOKEN', prometheusFile, '/bin/prometheus'],
  ])('%s sends %s: its entrypoint writes the token from .env to the file its config names, then runs the server', (service, variable, configuredFile, binary) => {
    const s = compose.services[service]!;
    const file = configuredFile();
    expect(file, `${service} config names no credentials file`).toMatch(/^\//);
    expect(s.environment?.[variable]).toBe(example[variable]);
    // In memory only, and in a directory of its own.
    expect(s.tmpfs?.some((t) => t.split(':')[0] === dirname(file!))).toBe(true);
    const [shell, flag, script, name, ...rest] = s.entrypoint!;
    expect([shell, flag, rest]).toEqual(['/bin/sh', '-c', []]);
    expect(s.command).toContain(`--config.file=/etc/${service}/${service}.yml`);

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
