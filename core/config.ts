/**
 * Configuration: one table of settings, read from flags and environment, validated once at
 * start-up. A flag wins over its environment variable, which wins over the default.
 *
 * The same table prints `crema config` and the configuration table of the README.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type Catalog, DEFAULT_CATALOG, catalogProblems } from './catalog.js';
import { ConfigError } from './errors.js';
import { type TrustProxy, formatTrustProxy, isLoopbackHost, parseTrustProxy } from './network.js';

export const COMMANDS = ['generate', 'collect', 'process', 'export', 'serve', 'up', 'config'] as const;
export type Command = (typeof COMMANDS)[number];

type Kind = 'string' | 'boolean' | 'list';

interface SettingSpec<S extends z.ZodType = z.ZodType> {
  /** Environment variable. */
  readonly env: string;
  /** Command-line flag, without the dashes. */
  readonly flag: string;
  readonly kind: Kind;
  /** Parses the raw text (a list setting gets an array of texts). */
  readonly schema: S;
  /** Raw default, as it would be written in the environment; a function for defaults found at run time. */
  readonly default?: string | (() => string);
  /** How the default reads in docs when it is found at run time. */
  readonly defaultDoc?: string;
  /** Defaults that differ by command, over {@link default}. */
  readonly commandDefaults?: Partial<Record<Command, string>>;
  /** One sentence for users. */
  readonly doc: string;
  /** Commands that read this setting. */
  readonly commands: readonly Command[];
  /** Masked by `crema config`. */
  readonly secret?: boolean;
}

function spec<S extends z.ZodType>(s: SettingSpec<S>): SettingSpec<S> {
  return s;
}

const PIPELINE: readonly Command[] = ['collect', 'process', 'export', 'up'];
const PROCESSING: readonly Command[] = ['process', 'up'];
const COLLECTING: readonly Command[] = ['collect', 'up'];
const GENERATING: readonly Command[] = ['generate', 'up'];
const EXPORTING: readonly Command[] = ['export', 'up'];
const SERVING: readonly Command[] = ['serve', 'up'];

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const positiveNumber = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().positive('must be greater than 0').max(max, `must be at most ${max}`));

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const redisUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return ['redis:', 'rediss:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be a redis:// or rediss:// URL, such as redis://:password@host:6379/0');

const httpUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL, such as http://influxdb:8086');

const name = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'may contain only letters, digits and _ . : @ -');

/** Every setting Crema reads. */
export const SETTINGS = {
  redisUrl: spec({
    env: 'REDIS_URL',
    flag: 'redis-url',
    kind: 'string',
    schema: redisUrl,
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis to use; `rediss://` for TLS, password as `redis://:secret@host:6379`.',
    commands: [...PIPELINE, 'serve'],
    secret: true,
  }),
  prefix: spec({
    env: 'CREMA_PREFIX',
    flag: 'prefix',
    kind: 'string',
    schema: z
      .string()
      .regex(/^\S+$/, 'must be non-empty and without spaces'),
    default: 'coffee:',
    doc: 'Prefix of every Redis key and channel; `{coffee}:` keeps all keys in one Redis Cluster slot.',
    commands: [...PIPELINE, 'serve'],
  }),
  host: spec({
    env: 'CREMA_HOST',
    flag: 'host',
    kind: 'string',
    schema: name,
    default: () => hostname(),
    defaultDoc: 'the machine’s hostname',
    doc: 'Host name written into every envelope and metric.',
    commands: [...PIPELINE, 'serve', 'generate'],
  }),
  logLevel: spec({
    env: 'CREMA_LOG_LEVEL',
    flag: 'log-level',
    kind: 'string',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Least severe log level written (JSON lines on standard output).',
    commands: [...PIPELINE, 'serve', 'generate'],
  }),
  metricsPort: spec({
    env: 'CREMA_METRICS_PORT',
    flag: 'metrics-port',
    kind: 'string',
    schema: wholeNumber(0, 65535),
    default: '9464',
    commandDefaults: { collect: '9465', process: '9466', export: '9467', generate: '9468' },
    defaultDoc: '`9464` (up), `9465` (collect), `9466` (process), `9467` (export), `9468` (generate)',
    doc: 'Port of the `/metrics` and `/healthz` endpoint; 0 turns it off. Give each process on one host its own.',
    commands: [...PIPELINE, 'generate'],
  }),
  metricsHost: spec({
    env: 'CREMA_METRICS_HOST',
    flag: 'metrics-host',
    kind: 'string',
    schema: z.string().trim().min(1, 'must not be empty'),
    default: '127.0.0.1',
    doc: 'Address the metrics endpoint listens on; `0.0.0.0` in containers.',
    commands: [...PIPELINE, 'generate'],
  }),
  files: spec({
    env: 'CREMA_FILES',
    flag: 'file',
    kind: 'list',
    schema: z.array(z.string().trim().min(1, 'must not be empty')).min(1, 'needs at least one file'),
    default: './data/orders.jsonl',
    doc: 'Order files (JSON lines). The collector follows each; the generator appends to the first. Repeat the flag, or separate with commas.',
    commands: [...COLLECTING, 'generate'],
  }),
  from: spec({
    env: 'CREMA_FROM',
    flag: 'from',
    kind: 'string',
    schema: z.enum(['beginning', 'end']),
    default: 'beginning',
    doc: 'Where to start in a file the collector has never read; afterwards it always resumes from its committed offset.',
    commands: COLLECTING,
  }),
  maxLineBytes: spec({
    env: 'CREMA_MAX_LINE_BYTES',
    flag: 'max-line-bytes',
    kind: 'string',
    schema: wholeNumber(64, 64 * 1024 * 1024),
    default: String(1024 * 1024),
    doc: 'Longest line accepted; a longer one becomes a dead letter (`line_too_long`) holding its first 4 KiB.',
    commands: COLLECTING,
  }),
  collectBatch: spec({
    env: 'CREMA_COLLECT_BATCH',
    flag: 'collect-batch',
    kind: 'string',
    schema: wholeNumber(1, 5000),
    default: '2000',
    doc: 'Most lines the collector pushes in one atomic step.',
    commands: COLLECTING,
  }),
  queueMax: spec({
    env: 'CREMA_QUEUE_MAX',
    flag: 'queue-max',
    kind: 'string',
    schema: wholeNumber(1000, 1_000_000_000),
    default: '1000000',
    doc: 'Queue length above which the collector pauses reading (backpressure) until the queue drains below 90 %.',
    commands: COLLECTING,
  }),
  pollMs: spec({
    env: 'CREMA_POLL_MS',
    flag: 'poll-ms',
    kind: 'string',
    schema: wholeNumber(10, 60_000),
    default: '250',
    doc: 'How often an idle collector checks its files for growth, rotation and truncation (file events wake it sooner).',
    commands: COLLECTING,
  }),
  windowSeconds: spec({
    env: 'CREMA_WINDOW_SECONDS',
    flag: 'window-seconds',
    kind: 'string',
    schema: wholeNumber(1, 86_400),
    default: '10',
    doc: 'Size of the tumbling, epoch-aligned windows. All processors of one prefix must agree.',
    commands: [...PROCESSING, 'serve'],
  }),
  graceSeconds: spec({
    env: 'CREMA_GRACE_SECONDS',
    flag: 'grace-seconds',
    kind: 'string',
    schema: wholeNumber(0, 86_400),
    defaultDoc: 'the window size',
    doc: 'How long after its end a window stays open before it is closed and marked final.',
    commands: PROCESSING,
  }),
  retentionDays: spec({
    env: 'CREMA_RETENTION_DAYS',
    flag: 'retention-days',
    kind: 'string',
    schema: positiveNumber(3650),
    default: '7',
    doc: 'How long window counts are kept in Redis.',
    commands: PROCESSING,
  }),
  maxClockSkewSeconds: spec({
    env: 'CREMA_MAX_CLOCK_SKEW_SECONDS',
    flag: 'max-clock-skew-seconds',
    kind: 'string',
    schema: wholeNumber(0, 86_400),
    default: '300',
    doc: 'How far in the future of its ingestion an `orderedAt` may lie and still be used as event time.',
    commands: PROCESSING,
  }),
  consumer: spec({
    env: 'CREMA_CONSUMER',
    flag: 'consumer',
    kind: 'string',
    schema: name,
    default: () => `${hostname()}-${process.pid}`,
    defaultDoc: '`<hostname>-<pid>`',
    doc: 'Name of this processor; unique among live processors. A stable name lets a restarted processor take its own unfinished batch back at once.',
    commands: PROCESSING,
  }),
  processBatch: spec({
    env: 'CREMA_PROCESS_BATCH',
    flag: 'process-batch',
    kind: 'string',
    schema: wholeNumber(1, 5000),
    default: '1000',
    doc: 'Most envelopes a processor claims and commits at once.',
    commands: PROCESSING,
  }),
  leaseSeconds: spec({
    env: 'CREMA_LEASE_SECONDS',
    flag: 'lease-seconds',
    kind: 'string',
    schema: wholeNumber(2, 3600),
    default: '10',
    doc: 'Lease on a claimed batch; when a processor dies, others recover its batch after this long.',
    commands: PROCESSING,
  }),
  tickMs: spec({
    env: 'CREMA_TICK_MS',
    flag: 'tick-ms',
    kind: 'string',
    schema: wholeNumber(50, 60_000),
    default: '1000',
    doc: 'How often windows are closed and changed windows published on the stats channel.',
    commands: PROCESSING,
  }),
  catalogFile: spec({
    env: 'CREMA_CATALOG_FILE',
    flag: 'catalog-file',
    kind: 'string',
    schema: z.string().trim().min(1, 'must not be empty'),
    defaultDoc: 'built in: the 9 coffees, 3 payment methods and 10 age grades of the original data set',
    doc: 'JSON file `{"coffeeTypes":[…],"paymentMethods":[…],"ageGrades":[…]}` of valid order values.',
    commands: [...PROCESSING, 'export', 'generate'],
  }),
  rate: spec({
    env: 'CREMA_RATE',
    flag: 'rate',
    kind: 'string',
    schema: positiveNumber(10_000_000),
    default: '40',
    doc: 'Orders per second the generator appends.',
    commands: GENERATING,
  }),
  count: spec({
    env: 'CREMA_COUNT',
    flag: 'count',
    kind: 'string',
    schema: wholeNumber(0, Number.MAX_SAFE_INTEGER),
    default: '0',
    doc: 'Orders the generator writes before it stops; 0 runs until stopped.',
    commands: GENERATING,
  }),
  seed: spec({
    env: 'CREMA_SEED',
    flag: 'seed',
    kind: 'string',
    schema: wholeNumber(0, 2 ** 32 - 1),
    defaultDoc: 'random',
    doc: 'Seed of the generator’s random numbers; the same seed writes the same orders.',
    commands: GENERATING,
  }),
  orderedAt: spec({
    env: 'CREMA_ORDERED_AT',
    flag: 'ordered-at',
    kind: 'boolean',
    schema: booleanText,
    default: 'false',
    doc: 'Whether generated orders carry their own `orderedAt` timestamp.',
    commands: GENERATING,
  }),
  bulk: spec({
    env: 'CREMA_BULK',
    flag: 'bulk',
    kind: 'boolean',
    schema: booleanText,
    default: 'false',
    doc: 'Write `--count` orders as fast as possible, ignoring `--rate` (for benchmarks).',
    commands: ['generate'],
  }),
  webPort: spec({
    env: 'CREMA_WEB_PORT',
    flag: 'web-port',
    kind: 'string',
    schema: wholeNumber(0, 65535),
    default: '8080',
    doc: 'Port of the web page, its API (`/api/windows`, `/api/stream`), `/metrics` and `/healthz`; 0 picks a free port.',
    commands: SERVING,
  }),
  webHost: spec({
    env: 'CREMA_WEB_HOST',
    flag: 'web-host',
    kind: 'string',
    schema: z.string().trim().min(1, 'must not be empty'),
    default: '127.0.0.1',
    doc: 'Address the web server listens on; `0.0.0.0` in containers.',
    commands: SERVING,
  }),
  corsOrigins: spec({
    env: 'CREMA_CORS_ORIGINS',
    flag: 'cors-origin',
    kind: 'list',
    schema: z.array(
      z
        .string()
        .trim()
        .regex(/^https?:\/\/[^/\s]+$/, 'must be an origin such as https://dash.example.com (scheme and host, no path)'),
    ),
    defaultDoc: 'none',
    doc: 'Origins of other sites allowed to read the API from a browser (CORS). Repeat the flag, or separate with commas.',
    commands: SERVING,
  }),
  apiRateLimit: spec({
    env: 'CREMA_API_RATE_LIMIT',
    flag: 'api-rate-limit',
    kind: 'string',
    schema: wholeNumber(0, 1_000_000),
    default: '600',
    doc: 'Requests per minute one client address may make to `/api/`; 0 turns the limit off.',
    commands: SERVING,
  }),
  streamMaxClients: spec({
    env: 'CREMA_STREAM_MAX_CLIENTS',
    flag: 'stream-max-clients',
    kind: 'string',
    schema: wholeNumber(1, 1_000_000),
    default: '10000',
    doc: 'Most live-stream clients served at once; more are turned away with 503.',
    commands: SERVING,
  }),
  streamBufferKb: spec({
    env: 'CREMA_STREAM_BUFFER_KB',
    flag: 'stream-buffer-kb',
    kind: 'string',
    schema: wholeNumber(16, 65_536),
    default: '256',
    doc: 'Unsent data one live-stream client may have queued before it is dropped as too slow.',
    commands: SERVING,
  }),
  alertsToken: spec({
    env: 'CREMA_ALERTS_TOKEN',
    flag: 'alerts-token',
    kind: 'string',
    schema: z.string().trim().min(16, 'must be at least 16 characters'),
    defaultDoc: 'none: on loopback any local client may post alerts; required beyond loopback',
    doc: 'Bearer token Alertmanager must send to `POST /api/alerts` (its webhook `http_config.authorization`); the alerts are shown on the page. `crema serve` refuses to start without it when `CREMA_WEB_HOST` is not a loopback address.',
    commands: SERVING,
    secret: true,
  }),
  heartbeatSeconds: spec({
    env: 'CREMA_HEARTBEAT_SECONDS',
    flag: 'heartbeat-seconds',
    kind: 'string',
    schema: wholeNumber(1, 300),
    default: '15',
    doc: 'How often an idle live stream sends a heartbeat, so proxies keep it open and dead clients are found.',
    commands: SERVING,
  }),
  influxUrl: spec({
    env: 'INFLUX_URL',
    flag: 'influx-url',
    kind: 'string',
    schema: httpUrl,
    defaultDoc: 'none: `crema up` then runs without the exporter',
    doc: 'InfluxDB to export windows to (its v2 write API): `http://influxdb:8086` for 1.8+, 2.x and 3 Core. Required by `crema export`.',
    commands: EXPORTING,
  }),
  influxToken: spec({
    env: 'INFLUX_TOKEN',
    flag: 'influx-token',
    kind: 'string',
    schema: z.string(),
    defaultDoc: 'none',
    doc: 'InfluxDB token: an API token on 2.x and 3 Core, `user:password` on 1.8+ (empty when 1.x runs without auth).',
    commands: EXPORTING,
    secret: true,
  }),
  influxOrg: spec({
    env: 'INFLUX_ORG',
    flag: 'influx-org',
    kind: 'string',
    schema: z.string().trim(),
    defaultDoc: 'none (1.8+ and 3 Core ignore it)',
    doc: 'InfluxDB 2.x organization.',
    commands: EXPORTING,
  }),
  influxBucket: spec({
    env: 'INFLUX_BUCKET',
    flag: 'influx-bucket',
    kind: 'string',
    schema: z.string().trim().min(1, 'must not be empty'),
    default: 'crema',
    doc: 'Bucket on 2.x, database on 3 Core, `database/retention-policy` on 1.8+ (`crema` alone means the default policy).',
    commands: EXPORTING,
  }),
  influxTimeoutSeconds: spec({
    env: 'INFLUX_TIMEOUT_SECONDS',
    flag: 'influx-timeout-seconds',
    kind: 'string',
    schema: positiveNumber(600),
    default: '10',
    doc: 'Longest wait for one write; a slower write is retried with backoff.',
    commands: EXPORTING,
  }),
  provisionalSeconds: spec({
    env: 'CREMA_PROVISIONAL_SECONDS',
    flag: 'provisional-seconds',
    kind: 'string',
    schema: positiveNumber(3600),
    default: '5',
    doc: 'How often the exporter writes snapshots of open windows (provisional points, overwritten when the window closes).',
    commands: EXPORTING,
  }),
  exportBatch: spec({
    env: 'CREMA_EXPORT_BATCH',
    flag: 'export-batch',
    kind: 'string',
    schema: wholeNumber(1, 10_000),
    default: '500',
    doc: 'Most windows the exporter reads and writes in one step (each is up to 23 points).',
    commands: EXPORTING,
  }),
  webMetrics: spec({
    env: 'CREMA_WEB_METRICS',
    flag: 'web-metrics',
    kind: 'string',
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    doc: 'Whether the web port serves `/metrics`. `auto`: on when `CREMA_WEB_HOST` is a loopback address or `CREMA_WEB_METRICS_TOKEN` is set, off otherwise; `on` serves it (behind the token when one is set).',
    commands: SERVING,
  }),
  webMetricsToken: spec({
    env: 'CREMA_WEB_METRICS_TOKEN',
    flag: 'web-metrics-token',
    kind: 'string',
    schema: z.string().trim().min(16, 'must be at least 16 characters'),
    defaultDoc: 'none',
    doc: 'Bearer token `/metrics` on the web port requires (Prometheus: `authorization: {credentials_file: …}` in the scrape config).',
    commands: SERVING,
    secret: true,
  }),
  trustProxy: spec({
    env: 'CREMA_TRUST_PROXY',
    flag: 'trust-proxy',
    kind: 'string',
    schema: z
      .string()
      .transform((text, ctx) => {
        try {
          return parseTrustProxy(text);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    default: 'off',
    doc: 'Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` the web server believes (Express `trust proxy`): `off`, the number of proxies in front (`1`), or their addresses and CIDR ranges (`loopback`, `10.0.0.0/8`). Rate limits then key on the real client, and HSTS is sent for HTTPS requests.',
    commands: SERVING,
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type Parsed = { [K in SettingName]: z.output<(typeof SETTINGS)[K]['schema']> };

/** The InfluxDB the exporter writes to (v2 write API: 1.8+, 2.x, 3 Core). */
export interface InfluxSettings {
  readonly url: string;
  /** API token, or `user:password` on 1.8+; empty for none. */
  readonly token: string;
  /** 2.x organization; empty elsewhere. */
  readonly org: string;
  /** Bucket (2.x), database (3 Core) or `database/retention-policy` (1.8+). */
  readonly bucket: string;
  readonly timeoutMs: number;
}

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'env' | 'default';

/** The effective configuration of one command. */
export interface Config {
  readonly command: Command;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly host: string;
  readonly logLevel: Parsed['logLevel'];
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly files: readonly string[];
  readonly from: 'beginning' | 'end';
  readonly maxLineBytes: number;
  readonly collectBatch: number;
  readonly queueMax: number;
  readonly pollMs: number;
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
  readonly maxClockSkewMs: number;
  readonly consumer: string;
  readonly processBatch: number;
  readonly leaseMs: number;
  readonly tickMs: number;
  readonly catalog: Catalog;
  readonly rate: number;
  readonly count: number;
  readonly seed: number | undefined;
  readonly orderedAt: boolean;
  readonly bulk: boolean;
  readonly webPort: number;
  readonly webHost: string;
  readonly corsOrigins: readonly string[];
  readonly apiRateLimit: number;
  readonly streamMaxClients: number;
  readonly streamBufferBytes: number;
  readonly heartbeatMs: number;
  /** Token `POST /api/alerts` requires; undefined accepts any client. */
  readonly alertsToken: string | undefined;
  /** Where the exporter writes; undefined when INFLUX_URL is not set. */
  readonly influx: InfluxSettings | undefined;
  readonly provisionalMs: number;
  readonly exportBatch: number;
  /** Whether the web port serves `/metrics` (`auto` resolved against the listen address and token). */
  readonly webMetrics: 'on' | 'off';
  /** Token `/metrics` on the web port requires; undefined serves it to anyone. */
  readonly webMetricsToken: string | undefined;
  /** Express's `trust proxy` for the web server. */
  readonly trustProxy: TrustProxy;
  /** Each setting's source, for `crema config`. */
  readonly sources: Readonly<Record<SettingName, SettingSource>>;
}

const catalogSchema = z
  .object({
    coffeeTypes: z.array(z.string()),
    paymentMethods: z.array(z.string()),
    ageGrades: z.array(z.string()),
  })
  .strict();

function loadCatalog(path: string | undefined): Catalog {
  if (path === undefined) return DEFAULT_CATALOG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([`CREMA_CATALOG_FILE (--catalog-file): cannot read ${path}: ${(error as Error).message}`]);
  }
  const result = catalogSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map(
        (i) => `CREMA_CATALOG_FILE (--catalog-file): ${path}: ${i.path.join('.') || 'file'}: ${i.message}`,
      ),
    );
  }
  const problems = catalogProblems(result.data);
  if (problems.length > 0) {
    throw new ConfigError(problems.map((p) => `CREMA_CATALOG_FILE (--catalog-file): ${path}: ${p}`));
  }
  return result.data;
}

function label(s: SettingSpec): string {
  return `${s.env} (--${s.flag})`;
}

/**
 * Reads the configuration of `command` from its flags and the environment.
 * Throws a {@link ConfigError} that names every bad setting.
 */
export function loadConfig(
  command: Command,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const accepted = (Object.entries(SETTINGS) as [SettingName, SettingSpec][]).filter(
    ([, s]) => command === 'config' || s.commands.includes(command),
  );
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [, s] of accepted) {
    options[s.flag] = { type: s.kind === 'boolean' ? 'boolean' : 'string', multiple: s.kind === 'list' };
  }
  if (command === 'config') options.markdown = { type: 'boolean' };

  let flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    flags = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError([`crema ${command}: ${(error as Error).message}`]);
  }

  const errors: string[] = [];
  const values: Partial<Record<SettingName, unknown>> = {};
  const sources = {} as Record<SettingName, SettingSource>;
  for (const [key, s] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const flag = accepted.some(([k]) => k === key) ? flags[s.flag] : undefined;
    let raw: string | string[] | undefined;
    if (flag !== undefined) {
      sources[key] = 'flag';
      raw = Array.isArray(flag) ? flag.flatMap((f) => String(f).split(',')) : String(flag);
    } else if (env[s.env] !== undefined && env[s.env] !== '') {
      sources[key] = 'env';
      raw = s.kind === 'list' ? (env[s.env] as string).split(',') : (env[s.env] as string);
    } else {
      sources[key] = 'default';
      const fallback = s.commandDefaults?.[command] ?? (typeof s.default === 'function' ? s.default() : s.default);
      raw = fallback === undefined ? undefined : s.kind === 'list' ? fallback.split(',') : fallback;
    }
    if (raw === undefined) continue;
    const result = s.schema.safeParse(raw);
    if (result.success) {
      values[key] = result.data;
    } else {
      const shown = Array.isArray(raw) ? raw.join(',') : raw;
      const got = s.secret ? '' : `; got ${JSON.stringify(shown)}`;
      errors.push(`${label(s)}: ${result.error.issues[0]?.message ?? 'is invalid'}${got}`);
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);

  const v = values as Parsed;
  if (command === 'generate' && v.files.length > 1) {
    throw new ConfigError([`${label(SETTINGS.files)}: the generator writes one file; got ${v.files.length}`]);
  }
  if (command === 'export' && v.influxUrl === undefined) {
    throw new ConfigError([`${label(SETTINGS.influxUrl)}: crema export needs it, such as http://127.0.0.1:8086`]);
  }
  if ((command === 'serve' || command === 'up') && v.alertsToken === undefined && !isLoopbackHost(v.webHost)) {
    throw new ConfigError([
      `${label(SETTINGS.alertsToken)}: required when the web server listens beyond loopback (CREMA_WEB_HOST=${v.webHost}), or anyone who can reach it could post alerts to the page; set a random token of at least 16 characters (such as \`openssl rand -hex 24\`) and give Alertmanager the same, or listen on 127.0.0.1`,
    ]);
  }
  const windowMs = v.windowSeconds * 1000;
  return {
    command,
    redisUrl: v.redisUrl,
    prefix: v.prefix,
    host: v.host,
    logLevel: v.logLevel,
    metricsPort: v.metricsPort,
    metricsHost: v.metricsHost,
    files: v.files,
    from: v.from,
    maxLineBytes: v.maxLineBytes,
    collectBatch: v.collectBatch,
    queueMax: v.queueMax,
    pollMs: v.pollMs,
    windowMs,
    graceMs: v.graceSeconds === undefined ? windowMs : v.graceSeconds * 1000,
    retentionMs: Math.round(v.retentionDays * 86_400_000),
    maxClockSkewMs: v.maxClockSkewSeconds * 1000,
    consumer: v.consumer,
    processBatch: v.processBatch,
    leaseMs: v.leaseSeconds * 1000,
    tickMs: v.tickMs,
    catalog: loadCatalog(v.catalogFile),
    rate: v.rate,
    count: v.count,
    seed: v.seed,
    orderedAt: v.orderedAt,
    bulk: v.bulk,
    webPort: v.webPort,
    webHost: v.webHost,
    corsOrigins: v.corsOrigins ?? [],
    apiRateLimit: v.apiRateLimit,
    streamMaxClients: v.streamMaxClients,
    streamBufferBytes: v.streamBufferKb * 1024,
    heartbeatMs: v.heartbeatSeconds * 1000,
    alertsToken: v.alertsToken,
    influx:
      v.influxUrl === undefined
        ? undefined
        : {
            url: v.influxUrl,
            token: v.influxToken ?? '',
            org: v.influxOrg ?? '',
            bucket: v.influxBucket,
            timeoutMs: Math.round(v.influxTimeoutSeconds * 1000),
          },
    provisionalMs: Math.round(v.provisionalSeconds * 1000),
    exportBatch: v.exportBatch,
    webMetrics:
      v.webMetrics !== 'auto' ? v.webMetrics : isLoopbackHost(v.webHost) || v.webMetricsToken !== undefined ? 'on' : 'off',
    webMetricsToken: v.webMetricsToken,
    trustProxy: v.trustProxy,
    sources,
  };
}

/** Whether `crema config` was asked for the README table. */
export function wantsMarkdown(argv: readonly string[]): boolean {
  return argv.includes('--markdown');
}

/** A Redis URL with its password replaced by `***`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '***';
  }
}

function rawValue(config: Config, key: SettingName): string {
  const s: SettingSpec = SETTINGS[key];
  switch (key) {
    case 'redisUrl':
      return maskUrl(config.redisUrl);
    case 'windowSeconds':
      return String(config.windowMs / 1000);
    case 'graceSeconds':
      return String(config.graceMs / 1000);
    case 'retentionDays':
      return String(config.retentionMs / 86_400_000);
    case 'maxClockSkewSeconds':
      return String(config.maxClockSkewMs / 1000);
    case 'leaseSeconds':
      return String(config.leaseMs / 1000);
    case 'catalogFile':
      return config.sources.catalogFile === 'default' ? '(built in)' : JSON.stringify(config.catalog);
    case 'files':
      return config.files.join(',');
    case 'corsOrigins':
      return config.corsOrigins.length === 0 ? '(none)' : config.corsOrigins.join(',');
    case 'streamBufferKb':
      return String(config.streamBufferBytes / 1024);
    case 'heartbeatSeconds':
      return String(config.heartbeatMs / 1000);
    case 'influxUrl':
      return config.influx ? maskUrl(config.influx.url) : '(none)';
    case 'influxToken':
      return config.influx?.token ? '***' : '(none)';
    case 'alertsToken':
      return config.alertsToken ? '***' : '(none)';
    case 'influxOrg':
      return config.influx?.org || '(none)';
    case 'influxBucket':
      return config.influx?.bucket ?? String(SETTINGS.influxBucket.default);
    case 'influxTimeoutSeconds':
      return config.influx ? String(config.influx.timeoutMs / 1000) : String(SETTINGS.influxTimeoutSeconds.default);
    case 'provisionalSeconds':
      return String(config.provisionalMs / 1000);
    case 'seed':
      return config.seed === undefined ? '(random)' : String(config.seed);
    case 'webMetricsToken':
      return config.webMetricsToken ? '***' : '(none)';
    case 'trustProxy':
      return formatTrustProxy(config.trustProxy);
    default: {
      const value = (config as unknown as Record<string, unknown>)[key];
      return s.secret ? '***' : String(value);
    }
  }
}

/** The effective configuration as aligned text lines: variable, value, source. */
export function describeConfig(config: Config): string {
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((key) => [
    SETTINGS[key].env,
    rawValue(config, key),
    config.sources[key],
  ]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([env, value, source]) => `${env!.padEnd(width)}  ${value}  (${source})`).join('\n');
}

/** The README's configuration table, generated from {@link SETTINGS}. */
export function settingsMarkdown(): string {
  const lines = [
    '| Variable | Flag | Default | Used by | Meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of Object.values(SETTINGS) as SettingSpec[]) {
    const fallback = s.defaultDoc ?? (typeof s.default === 'string' ? `\`${s.default}\`` : '');
    lines.push(`| \`${s.env}\` | \`--${s.flag}\` | ${fallback} | ${s.commands.join(', ')} | ${s.doc} |`);
  }
  return lines.join('\n');
}
