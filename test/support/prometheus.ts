/**
 * Prometheus and Alertmanager for tests: Debian's `prometheus` and `prometheus-alertmanager`
 * binaries on free loopback ports in temporary directories, with short intervals, and a webhook
 * receiver that records what Alertmanager sends. Local binaries only: Prometheus must reach the
 * Crema processes on the loopback interface, which a container does not share.
 */
import { closeServer, listen } from '../../core/http-server.js';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from '../../core/lifecycle.js';
import type { RuleGroup, RuleTiming } from '../../prometheus/alert-rules.js';
import { type YamlValue, toYaml } from '../../prometheus/yaml.js';
import { eventually } from './eventually.js';
import { freePort, killAndWait, onFreePort, spawnServer, untilAnswering } from './servers.js';

/** Rule timing for end-to-end tests: seconds instead of minutes, same thresholds. */
export const E2E_TIMING: RuleTiming = Object.freeze({ window: '15s', rateFor: '5s', stalledFor: '5s', downFor: '5s' });

/** A server binary running in a temporary directory of its own. */
interface LocalServer {
  readonly url: string;
  /** Stops it and removes its directory; a second call waits on the first. */
  dispose(): Promise<void>;
}

export interface PrometheusServer extends LocalServer {
  /** An instant query; the result vector or matrix. */
  query(promql: string): Promise<PromSample[]>;
  /** The alerts Prometheus holds now (pending and firing). */
  alerts(): Promise<{ labels: Record<string, string>; state: string }[]>;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  /** Instant vector: [time, value]. */
  readonly value?: [number, string];
  /** Range vector: [time, value][]. */
  readonly values?: [number, string][];
}

export interface AlertmanagerServer extends LocalServer {}

/**
 * Starts `binary` on a free port (`args(port)`) in `dir` and waits until `readyPath` answers 200;
 * on another port when the one picked (by `pickPort`) was taken before the server bound it.
 */
export async function startLocal(
  binary: string,
  args: (port: number) => readonly string[],
  dir: string,
  readyPath: string,
  installHint: string,
  pickPort: () => Promise<number> = freePort,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const logFile = join(dir, 'server.log');
  return onFreePort(pickPort, async (port) => {
    const url = `http://127.0.0.1:${port}`;
    const child = await spawnServer(binary, args(port), installHint, { cwd: dir, outputFile: logFile });
    const ready = async () => (await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(1000) })).ok;
    try {
      await untilAnswering(child, `${binary} on port ${port}`, ready, { logFile, timeoutMs: 30_000 });
    } catch (error) {
      await killAndWait(child);
      throw error;
    }
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        }
      })());
    return { url, stop };
  });
}

export interface PrometheusOptions {
  /** Scrape targets (`host:port`) by job name. */
  readonly targets: Readonly<Record<string, readonly string[]>>;
  /** Alerting rules to load. */
  readonly rules?: readonly RuleGroup[];
  /** Alertmanager to send alerts to. */
  readonly alertmanagerUrl?: string;
  /** Scrape and evaluation interval. @defaultValue '1s' */
  readonly interval?: string;
  /** Per job: the `authorization` of its scrapes, such as `{ credentials_file: '/path' }`. */
  readonly authorization?: Readonly<Record<string, { readonly credentials_file: string }>>;
}

/** Prometheus on a free loopback port, scraping `targets` and evaluating `rules`. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'crema-prometheus-'));
  const interval = options.interval ?? '1s';
  const config: Record<string, YamlValue> = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.rules ? ['rules.yml'] : [],
    scrape_configs: Object.entries(options.targets).map(([job, targets]) => ({
      job_name: job,
      ...(options.authorization?.[job] ? { authorization: { ...options.authorization[job] } } : {}),
      static_configs: [{ targets: [...targets] }],
    })),
  };
  if (options.alertmanagerUrl) {
    const am = new URL(options.alertmanagerUrl);
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: [am.host] }] }] };
  }
  await writeFile(join(dir, 'prometheus.yml'), toYaml(config));
  if (options.rules) await writeFile(join(dir, 'rules.yml'), toYaml({ groups: options.rules as unknown as YamlValue }));
  const { url, stop } = await startLocal(
    'prometheus',
    (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Alerts reach Alertmanager at once and are re-sent often, as the short intervals need.
      '--rules.alert.resend-delay=1s',
    ],
    dir,
    '/-/ready',
    'install it (apt-get install prometheus)',
  );
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    url,
    query: async (promql) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    alerts: async () => (await api<{ alerts: { labels: Record<string, string>; state: string }[] }>('/api/v1/alerts')).alerts,
    dispose: once(async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    }),
  };
}

/**
 * Alertmanager on a free loopback port, sending every alert within a second to each of
 * `webhookUrls`, and to each of `webhooks` (whole webhook configs, such as the shipped one's).
 */
export async function startAlertmanager(options: { webhookUrls?: readonly string[]; webhooks?: readonly { [key: string]: YamlValue }[] }): Promise<AlertmanagerServer> {
  const dir = await mkdtemp(join(tmpdir(), 'crema-alertmanager-'));
  const webhooks: YamlValue[] = [...(options.webhookUrls ?? []).map((url) => ({ url, send_resolved: true })), ...(options.webhooks ?? [])];
  const config = {
    route: { receiver: 'test', group_by: ['alertname'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'test', webhook_configs: webhooks }],
  };
  await writeFile(join(dir, 'alertmanager.yml'), toYaml(config));
  const binary = existsSync('/usr/bin/prometheus-alertmanager') ? 'prometheus-alertmanager' : 'alertmanager';
  const { url, stop } = await startLocal(
    binary,
    (port) => [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // A single instance: no cluster port to collide with other tests.
      '--cluster.listen-address=',
    ],
    dir,
    '/-/ready',
    'install it (apt-get install prometheus-alertmanager)',
  );
  return {
    url,
    dispose: once(async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    }),
  };
}

/** One alert of an Alertmanager webhook notification. */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
}

/** An Alertmanager webhook notification (version 4). */
export interface WebhookNotification {
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly WebhookAlert[];
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every notification received, oldest first. */
  readonly notifications: readonly WebhookNotification[];
  /** Waits for an alert with this name and status; returns it. */
  waitFor(alertname: string, status: 'firing' | 'resolved', timeoutMs?: number): Promise<WebhookAlert>;
  close(): Promise<void>;
}

/** An HTTP server that records the notifications Alertmanager posts to it. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      try {
        notifications.push(JSON.parse(body) as WebhookNotification);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  const { port } = await listen(server, 0, '127.0.0.1');
  const find = (alertname: string, status: string) =>
    notifications.flatMap((n) => n.alerts).find((a) => a.labels.alertname === alertname && a.status === status);
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    notifications,
    async waitFor(alertname, status, timeoutMs = 90_000) {
      await eventually(() => find(alertname, status) !== undefined, {
        timeoutMs,
        intervalMs: 200,
        message: () => `no ${status} ${alertname} notification; received: ${JSON.stringify(notifications.map((n) => n.alerts.map((a) => `${a.labels.alertname}:${a.status}`)))}`,
      });
      return find(alertname, status)!;
    },
    close: once(() => closeServer(server)),
  };
}
