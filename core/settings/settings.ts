/**
 * The table of settings: each declared once, with its variable, flag, schema, default, conversion,
 * display and the commands that read it. {@link Config} and every stage's slice of it are derived
 * from this table; `load.ts` reads it, `describe.ts` prints it.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { catalogHash } from '../catalog.js';
import { DEFAULT_DEAD_LETTER_MAX } from '../dead-letter.js';
import { formatTrustProxy, isLoopbackHost, parseTrustProxy } from '../network.js';
import { loadCatalogFile } from './catalog-file.js';
import { booleanText, httpUrl, name, nonEmpty, origin, positiveNumber, redisUrl, wholeNumber, zeroOrMore } from './schemas.js';
import { type Command, SettingProblem, type SettingSource, maskUrl, setting } from './setting.js';

const PIPELINE = ['collect', 'process', 'export', 'up'] as const;
const PROCESSING = ['process', 'up'] as const;
const COLLECTING = ['collect', 'up'] as const;
const GENERATING = ['generate', 'up'] as const;
const EXPORTING = ['export', 'up'] as const;
const SERVING = ['serve', 'up'] as const;
/** Every command that connects to Redis. */
const REDIS = [...PIPELINE, 'serve'] as const;

const seconds = (s: number) => s * 1000;

/** A PEM file's path and content, read once at start-up; undefined when not given. */
export interface PemFile {
  readonly path: string;
  readonly pem: Buffer;
}

/** Reads a PEM file and checks that it holds what it should, so that a wrong file is named at start-up, not as a TLS failure later. */
function readPem(path: string | undefined, holds: 'certificate' | 'private key'): PemFile | undefined {
  if (path === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    const { code } = error as { code?: string };
    throw new SettingProblem([`cannot read ${path}${code ? ` (${code})` : ''}`]);
  }
  try {
    if (holds === 'certificate') new X509Certificate(pem);
    else createPrivateKey(pem);
  } catch {
    throw new SettingProblem([`${path} does not hold a PEM ${holds}`]);
  }
  return { path, pem };
}

/** Whether a client certificate and a key belong together. */
function keyFitsCertificate(cert: PemFile, key: PemFile): boolean {
  try {
    return new X509Certificate(cert.pem).checkPrivateKey(createPrivateKey(key.pem));
  } catch {
    return false;
  }
}

/** A TLS file needs `rediss://` (REDIS_URL, or the cluster's seeds): with `redis://` it would be ignored, and the connection not encrypted. */
function needsTls(file: PemFile | undefined, earlier: Readonly<Record<string, unknown>>): string | undefined {
  const seeds = earlier.redisClusterUrls;
  if (Array.isArray(seeds) && seeds.length > 0) {
    if (file === undefined || seeds.every((seed) => String(seed).startsWith('rediss:'))) return undefined;
    return 'is set, but REDIS_CLUSTER_URLS are not rediss:// URLs, so the connections would not use TLS; use rediss://';
  }
  const url = earlier.redisUrl;
  if (file === undefined || typeof url !== 'string' || url.startsWith('rediss:')) return undefined;
  return 'is set, but REDIS_URL is not a rediss:// URL, so the connection would not use TLS; use rediss://';
}

/** Seeds of one cluster speak one protocol and log in as one user: ioredis uses the first seed's for every node. */
function oneClusterLogin(seeds: readonly string[] | undefined): string | undefined {
  if (seeds === undefined || seeds.length < 2) return undefined;
  const login = (seed: string) => {
    const url = new URL(seed);
    return `${url.protocol}//${url.username}:${url.password}`;
  };
  const first = login(seeds[0]!);
  return seeds.every((seed) => login(seed) === first) ? undefined : 'every seed must use the same scheme (redis:// or rediss://), user and password: they are one cluster, and each node is logged in to with the first seed’s';
}

/** A password for the Redis user of a stage in `crema acl`. */
function aclPassword(stage: string, user: string) {
  return setting({
    env: `CREMA_ACL_${stage.toUpperCase()}_PASSWORD`,
    flag: `${stage}-password`,
    schema: z.string().min(16, 'must be at least 16 characters (`openssl rand -hex 24` makes a good one)').optional(),
    defaultDoc: 'none: a placeholder Redis refuses',
    doc: `Password of the Redis user \`${user}\` that \`crema acl\` prints (as its SHA-256, never in clear); the ${stage === 'web' ? 'web server' : stage} logs in with it in REDIS_URL.`,
    commands: ['acl'],
    secret: true,
  });
}

/** Every setting Crema reads, in the order `crema config` and the README list them. */
export const SETTINGS = Object.freeze({
  redisUrl: setting({
    env: 'REDIS_URL',
    flag: 'redis-url',
    schema: redisUrl,
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis to use: `redis://user:password@host:6379/0`, `rediss://` for TLS (see `CREMA_REDIS_TLS_CA_FILE`). Each stage may log in as its own user (`crema acl`).',
    commands: [...REDIS, 'dead'],
    secret: true,
    display: maskUrl,
  }),
  redisClusterUrls: setting({
    env: 'REDIS_CLUSTER_URLS',
    flag: 'redis-cluster-url',
    kind: 'list',
    schema: z.array(redisUrl).optional(),
    defaultDoc: 'none: one Redis, at REDIS_URL',
    doc: 'Seed nodes of a Redis Cluster (`redis://user:password@node-1:6379,redis://user:password@node-2:6379`); any reachable one finds the others. When set, Crema runs on the cluster and REDIS_URL is not used. See `docs/scaling.md`.',
    commands: [...REDIS, 'dead'],
    secret: true,
    display: (seeds) => (seeds === undefined ? '(none)' : seeds.map(maskUrl).join(',')),
    check: (seeds) => oneClusterLogin(seeds),
  }),
  redisTlsCa: setting({
    env: 'CREMA_REDIS_TLS_CA_FILE',
    flag: 'redis-tls-ca-file',
    schema: nonEmpty.optional(),
    convert: (path) => readPem(path, 'certificate'),
    display: (path) => path ?? '(none)',
    defaultDoc: 'none: the system’s trusted CAs',
    doc: 'PEM file of the CA that signed the Redis server’s certificate, for a `rediss://` REDIS_URL. The certificate must name the host of REDIS_URL.',
    commands: REDIS,
    check: (ca, _command, earlier) => needsTls(ca, earlier),
  }),
  redisTlsCert: setting({
    env: 'CREMA_REDIS_TLS_CERT_FILE',
    flag: 'redis-tls-cert-file',
    schema: nonEmpty.optional(),
    convert: (path) => readPem(path, 'certificate'),
    display: (path) => path ?? '(none)',
    defaultDoc: 'none',
    doc: 'PEM file of the client certificate Crema shows Redis, for a server that asks for one (`tls-auth-clients yes`, its default); with `CREMA_REDIS_TLS_KEY_FILE`.',
    commands: REDIS,
    check: (cert, _command, earlier) => needsTls(cert, earlier),
  }),
  redisTlsKey: setting({
    env: 'CREMA_REDIS_TLS_KEY_FILE',
    flag: 'redis-tls-key-file',
    schema: nonEmpty.optional(),
    convert: (path) => readPem(path, 'private key'),
    display: (path) => path ?? '(none)',
    defaultDoc: 'none',
    doc: 'PEM file of the private key of `CREMA_REDIS_TLS_CERT_FILE`. Only its path is ever shown.',
    commands: REDIS,
    check: (key, _command, earlier) => {
      if (!('redisTlsCert' in earlier)) return undefined;
      const cert = earlier.redisTlsCert as PemFile | undefined;
      if ((key === undefined) !== (cert === undefined)) return 'CREMA_REDIS_TLS_CERT_FILE and CREMA_REDIS_TLS_KEY_FILE go together: give both or neither';
      if (key && cert && !keyFitsCertificate(cert, key)) return `${key.path} is not the private key of the certificate ${cert.path} (CREMA_REDIS_TLS_CERT_FILE)`;
      return needsTls(key, earlier);
    },
  }),
  prefix: setting({
    env: 'CREMA_PREFIX',
    flag: 'prefix',
    // A brace would end the hash tag that keeps each shard's keys in one Redis Cluster slot (core/shards.ts).
    schema: z.string().regex(/^[^\s{}]+$/, 'must be non-empty, without spaces or braces'),
    default: 'coffee:',
    doc: 'Prefix of every Redis key and channel. Shard `i` of several (or on a cluster) keeps its keys under `{<prefix>i}:`.',
    commands: [...REDIS, 'acl', 'dead'],
  }),
  shards: setting({
    env: 'CREMA_SHARDS',
    flag: 'shards',
    schema: wholeNumber(1, 1024),
    default: '1',
    doc: 'Number of shards: each has its own queue, windows and change stream under one hash tag, so that a Redis Cluster spreads them over its masters. Shared by every stage of a prefix (stored in `<prefix>settings`); see `docs/scaling.md` to change it.',
    commands: [...REDIS, 'acl'],
  }),
  shard: setting({
    env: 'CREMA_SHARD',
    flag: 'shard',
    schema: wholeNumber(0, 1023).optional(),
    defaultDoc: 'by host and path',
    doc: 'Shard for every file this collector follows, from 0. Unset, each file goes to the shard its host and path hash to, which every collector computes alike. For `crema dead`: the shard whose dead letters to work on (needed when there are several).',
    commands: [...COLLECTING, 'dead'],
    check: (shard, command, earlier) =>
      command !== 'dead' && shard !== undefined && typeof earlier.shards === 'number' && shard >= earlier.shards ? `is ${shard}, but there are only ${earlier.shards} shards (CREMA_SHARDS), numbered from 0` : undefined,
  }),
  host: setting({
    env: 'CREMA_HOST',
    flag: 'host',
    schema: name,
    default: () => hostname(),
    defaultDoc: 'the machine’s hostname',
    doc: 'Host name written into every envelope and metric.',
    commands: [...PIPELINE, 'serve', 'generate'],
  }),
  logLevel: setting({
    env: 'CREMA_LOG_LEVEL',
    flag: 'log-level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Least severe log level written (JSON lines on standard output).',
    commands: [...PIPELINE, 'serve', 'generate'],
  }),
  metricsPort: setting({
    env: 'CREMA_METRICS_PORT',
    flag: 'metrics-port',
    schema: wholeNumber(0, 65535),
    default: '9464',
    commandDefaults: { collect: '9465', process: '9466', export: '9467', generate: '9468' },
    defaultDoc: '`9464` (up), `9465` (collect), `9466` (process), `9467` (export), `9468` (generate)',
    doc: 'Port of the `/metrics` and `/healthz` endpoint; 0 turns it off. Give each process on one host its own.',
    commands: [...PIPELINE, 'generate'],
  }),
  metricsHost: setting({
    env: 'CREMA_METRICS_HOST',
    flag: 'metrics-host',
    schema: nonEmpty,
    default: '127.0.0.1',
    doc: 'Address the metrics endpoint listens on; `0.0.0.0` in containers.',
    commands: [...PIPELINE, 'generate'],
  }),
  files: setting({
    env: 'CREMA_FILES',
    flag: 'file',
    kind: 'list',
    schema: z.array(nonEmpty).min(1, 'needs at least one file'),
    default: './data/orders.jsonl',
    doc: 'Order files (JSON lines). The collector follows each; the generator appends to the first. Repeat the flag, or separate with commas.',
    commands: [...COLLECTING, 'generate'],
    check: (files, command) => (command === 'generate' && files.length > 1 ? `the generator writes one file; got ${files.length}` : undefined),
  }),
  from: setting({
    env: 'CREMA_FROM',
    flag: 'from',
    schema: z.enum(['beginning', 'end']),
    default: 'beginning',
    doc: 'Where to start in a file the collector has never read; afterwards it always resumes from its committed offset.',
    commands: COLLECTING,
  }),
  maxLineBytes: setting({
    env: 'CREMA_MAX_LINE_BYTES',
    flag: 'max-line-bytes',
    schema: wholeNumber(64, 64 * 1024 * 1024),
    default: String(1024 * 1024),
    doc: 'Longest line accepted; a longer one becomes a dead letter (`line_too_long`) holding its first 4 KiB.',
    commands: COLLECTING,
  }),
  collectBatch: setting({
    env: 'CREMA_COLLECT_BATCH',
    flag: 'collect-batch',
    schema: wholeNumber(1, 5000),
    default: '2000',
    doc: 'Most lines the collector pushes in one atomic step.',
    commands: COLLECTING,
  }),
  queueMax: setting({
    env: 'CREMA_QUEUE_MAX',
    flag: 'queue-max',
    schema: wholeNumber(1000, 1_000_000_000),
    default: '1000000',
    doc: 'Queue length above which the collector pauses reading (backpressure) until the queue drains below 90 %.',
    commands: COLLECTING,
  }),
  pollMs: setting({
    env: 'CREMA_POLL_MS',
    flag: 'poll-ms',
    schema: wholeNumber(10, 60_000),
    default: '250',
    doc: 'How often an idle collector checks its files for growth, rotation and truncation (file events wake it sooner).',
    commands: COLLECTING,
  }),
  windowMs: setting({
    env: 'CREMA_WINDOW_SECONDS',
    flag: 'window-seconds',
    schema: wholeNumber(1, 86_400),
    default: '10',
    doc: 'Size of the tumbling, epoch-aligned windows. Shared by every stage of a prefix: the first processor stores it in `<prefix>settings`; the web and the exporter read it from there.',
    convert: seconds,
    commands: PROCESSING,
  }),
  graceMs: setting({
    env: 'CREMA_GRACE_SECONDS',
    flag: 'grace-seconds',
    schema: wholeNumber(0, 86_400),
    defaultFrom: 'windowMs',
    defaultDoc: 'the window size',
    convert: seconds,
    doc: 'How long after its end a window stays open before it is closed and marked final. Shared, like the window size.',
    commands: PROCESSING,
  }),
  retentionMs: setting({
    env: 'CREMA_RETENTION_DAYS',
    flag: 'retention-days',
    schema: positiveNumber(3650),
    default: '7',
    convert: (days) => Math.round(days * 86_400_000),
    doc: 'How long window counts are kept in Redis, and how long the collector keeps the read position of a file that is gone. Shared, like the window size.',
    commands: ['collect', ...PROCESSING],
  }),
  maxClockSkewMs: setting({
    env: 'CREMA_MAX_CLOCK_SKEW_SECONDS',
    flag: 'max-clock-skew-seconds',
    schema: wholeNumber(0, 86_400),
    default: '300',
    convert: seconds,
    doc: 'How far in the future of its ingestion an `orderedAt` may lie and still be used as event time.',
    commands: PROCESSING,
  }),
  consumer: setting({
    env: 'CREMA_CONSUMER',
    flag: 'consumer',
    schema: name,
    default: () => `${hostname()}-${process.pid}`,
    defaultDoc: '`<hostname>-<pid>`',
    doc: 'Name of this processor; unique among live processors. A stable name lets a restarted processor take its own unfinished batch back at once.',
    commands: PROCESSING,
  }),
  processBatch: setting({
    env: 'CREMA_PROCESS_BATCH',
    flag: 'process-batch',
    schema: wholeNumber(1, 5000),
    default: '1000',
    doc: 'Most envelopes a processor claims and commits at once.',
    commands: PROCESSING,
  }),
  leaseMs: setting({
    env: 'CREMA_LEASE_SECONDS',
    flag: 'lease-seconds',
    schema: wholeNumber(2, 3600),
    default: '10',
    convert: seconds,
    doc: 'Lease on a claimed batch; when a processor dies, others recover its batch after this long.',
    commands: PROCESSING,
  }),
  tickMs: setting({
    env: 'CREMA_TICK_MS',
    flag: 'tick-ms',
    schema: wholeNumber(50, 60_000),
    default: '1000',
    doc: 'How often windows are closed and changed windows published on the stats channel.',
    commands: PROCESSING,
  }),
  deadLetterLogMs: setting({
    env: 'CREMA_DEAD_LETTER_LOG_SECONDS',
    flag: 'dead-letter-log-seconds',
    schema: wholeNumber(1, 86_400),
    default: '60',
    convert: seconds,
    doc: 'How often the processor logs the dead letters it wrote: one line per reason with its count (`dead letters: invalid_json 37 in the last 60 s`), none for a reason without any, and the rest when it stops.',
    commands: PROCESSING,
  }),
  deadMax: setting({
    env: 'CREMA_DEAD_MAX',
    flag: 'dead-max',
    schema: wholeNumber(1, 100_000_000),
    default: String(DEFAULT_DEAD_LETTER_MAX),
    doc: 'Most dead letters kept in `<prefix>dead:letters` (each at most about 8 KiB: a line keeps its first 4 KiB). Past it a commit drops the oldest, counts them in `coffee_processor_dead_letters_trimmed_total` and the processor logs it once; `crema dead migrate` keeps to it too.',
    commands: [...PROCESSING, 'dead'],
  }),
  catalog: setting({
    env: 'CREMA_CATALOG_FILE',
    flag: 'catalog-file',
    schema: nonEmpty.optional(),
    convert: loadCatalogFile,
    display: (path, catalog) => `${path ?? '(built in)'} ${catalogHash(catalog)}`,
    defaultDoc: 'built in: the 9 coffees, 3 payment methods and 10 age grades of the original data set',
    doc: 'JSON file `{"coffeeTypes":[…],"paymentMethods":[…],"ageGrades":[…]}` of valid order values. Shared: the first processor stores the catalog in `<prefix>settings`; a processor or exporter given a different catalog refuses to start, an exporter given none uses the stored one.',
    commands: [...PROCESSING, 'export', 'generate'],
  }),
  rate: setting({
    env: 'CREMA_RATE',
    flag: 'rate',
    schema: positiveNumber(10_000_000),
    default: '40',
    doc: 'Orders per second the generator appends.',
    commands: GENERATING,
  }),
  count: setting({
    env: 'CREMA_COUNT',
    flag: 'count',
    schema: wholeNumber(0, Number.MAX_SAFE_INTEGER),
    default: '0',
    doc: 'Orders the generator writes before it stops; 0 runs until stopped.',
    commands: GENERATING,
  }),
  seed: setting({
    env: 'CREMA_SEED',
    flag: 'seed',
    schema: wholeNumber(0, 2 ** 32 - 1).optional(),
    defaultDoc: 'random',
    display: (seed) => (seed === undefined ? '(random)' : String(seed)),
    doc: 'Seed of the generator’s random numbers; the same seed writes the same orders.',
    commands: GENERATING,
  }),
  orderedAt: setting({
    env: 'CREMA_ORDERED_AT',
    flag: 'ordered-at',
    kind: 'boolean',
    schema: booleanText,
    default: 'true',
    doc: 'Whether generated orders carry their own `orderedAt` timestamp, so that a stalled pipeline counts them late in their own windows; `--no-ordered-at` leaves it out (orders then count when collected).',
    commands: GENERATING,
  }),
  bulk: setting({
    env: 'CREMA_BULK',
    flag: 'bulk',
    kind: 'boolean',
    schema: booleanText,
    default: 'false',
    doc: 'Write `--count` orders as fast as possible, ignoring `--rate` (for benchmarks).',
    commands: ['generate'],
  }),
  webPort: setting({
    env: 'CREMA_WEB_PORT',
    flag: 'web-port',
    schema: wholeNumber(0, 65535),
    default: '8080',
    doc: 'Port of the web page, its API (`/api/windows`, `/api/stream`), `/metrics` and `/healthz`; 0 picks a free port.',
    commands: SERVING,
  }),
  webHost: setting({
    env: 'CREMA_WEB_HOST',
    flag: 'web-host',
    schema: nonEmpty,
    default: '127.0.0.1',
    doc: 'Address the web server listens on; `0.0.0.0` in containers.',
    commands: SERVING,
  }),
  corsOrigins: setting({
    env: 'CREMA_CORS_ORIGINS',
    flag: 'cors-origin',
    kind: 'list',
    schema: z.array(origin).optional(),
    convert: (origins): readonly string[] => origins ?? [],
    defaultDoc: 'none',
    doc: 'Origins of other sites allowed to read the API from a browser (CORS). Repeat the flag, or separate with commas.',
    commands: SERVING,
  }),
  apiRateLimit: setting({
    env: 'CREMA_API_RATE_LIMIT',
    flag: 'api-rate-limit',
    schema: wholeNumber(0, 1_000_000),
    default: '600',
    doc: 'Requests per minute one client address may make to `/api/`; 0 turns the limit off.',
    commands: SERVING,
  }),
  streamMaxClients: setting({
    env: 'CREMA_STREAM_MAX_CLIENTS',
    flag: 'stream-max-clients',
    schema: wholeNumber(1, 1_000_000),
    default: '10000',
    doc: 'Most live-stream clients served at once; more are turned away with 503.',
    commands: SERVING,
  }),
  streamBufferBytes: setting({
    env: 'CREMA_STREAM_BUFFER_KB',
    flag: 'stream-buffer-kb',
    schema: wholeNumber(16, 65_536),
    default: '256',
    convert: (kb) => kb * 1024,
    doc: 'Unsent data one live-stream client may have queued before it is dropped as too slow.',
    commands: SERVING,
  }),
  alertsToken: setting({
    env: 'CREMA_ALERTS_TOKEN',
    flag: 'alerts-token',
    schema: z.string().trim().min(16, 'must be at least 16 characters').optional(),
    defaultDoc: 'none: on loopback any local client may post alerts; required beyond loopback',
    doc: 'Bearer token Alertmanager must send to `POST /api/alerts` (its webhook `http_config.authorization`); the alerts are shown on the page. `crema serve` refuses to start without it when `CREMA_WEB_HOST` is not a loopback address.',
    commands: SERVING,
    secret: true,
    check: (token, command, earlier) =>
      (command === 'serve' || command === 'up') && token === undefined && !isLoopbackHost(String(earlier.webHost))
        ? `required when the web server listens beyond loopback (CREMA_WEB_HOST=${String(earlier.webHost)}), or anyone who can reach it could post alerts to the page; set a random token of at least 16 characters (such as \`openssl rand -hex 24\`) and give Alertmanager the same, or listen on 127.0.0.1`
        : undefined,
  }),
  heartbeatMs: setting({
    env: 'CREMA_HEARTBEAT_SECONDS',
    flag: 'heartbeat-seconds',
    schema: wholeNumber(1, 300),
    default: '15',
    convert: seconds,
    doc: 'How often an idle live stream sends a heartbeat, so proxies keep it open and dead clients are found.',
    commands: SERVING,
  }),
  influxUrl: setting({
    env: 'INFLUX_URL',
    flag: 'influx-url',
    schema: httpUrl.optional(),
    display: (url) => (url === undefined ? '(none)' : maskUrl(url)),
    check: (url, command) => (command === 'export' && url === undefined ? 'crema export needs it, such as http://127.0.0.1:8086' : undefined),
    defaultDoc: 'none: `crema up` then runs without the exporter',
    doc: 'InfluxDB to export windows to (its v2 write API): `http://influxdb:8086` for 1.8+, 2.x and 3 Core. Required by `crema export`.',
    commands: EXPORTING,
  }),
  influxToken: setting({
    env: 'INFLUX_TOKEN',
    flag: 'influx-token',
    schema: z.string().optional(),
    convert: (token) => token ?? '',
    defaultDoc: 'none',
    doc: 'InfluxDB token: an API token on 2.x and 3 Core, `user:password` on 1.8+ (empty when 1.x runs without auth).',
    commands: EXPORTING,
    secret: true,
  }),
  influxOrg: setting({
    env: 'INFLUX_ORG',
    flag: 'influx-org',
    schema: z.string().trim().optional(),
    convert: (org) => org ?? '',
    defaultDoc: 'none (1.8+ and 3 Core ignore it)',
    doc: 'InfluxDB 2.x organization.',
    commands: EXPORTING,
  }),
  influxBucket: setting({
    env: 'INFLUX_BUCKET',
    flag: 'influx-bucket',
    schema: nonEmpty,
    default: 'crema',
    doc: 'Bucket on 2.x, database on 3 Core, `database/retention-policy` on 1.8+ (`crema` alone means the default policy).',
    commands: EXPORTING,
  }),
  influxTimeoutMs: setting({
    env: 'INFLUX_TIMEOUT_SECONDS',
    flag: 'influx-timeout-seconds',
    schema: positiveNumber(600),
    default: '10',
    convert: (s) => Math.round(s * 1000),
    doc: 'Longest wait for one write; a slower write is retried with backoff.',
    commands: EXPORTING,
  }),
  provisionalMs: setting({
    env: 'CREMA_PROVISIONAL_SECONDS',
    flag: 'provisional-seconds',
    schema: positiveNumber(3600),
    default: '5',
    convert: (s) => Math.round(s * 1000),
    doc: 'How often the exporter writes snapshots of open windows (provisional points, overwritten when the window closes).',
    commands: EXPORTING,
  }),
  exportBatch: setting({
    env: 'CREMA_EXPORT_BATCH',
    flag: 'export-batch',
    schema: wholeNumber(1, 10_000),
    default: '500',
    doc: 'Most windows the exporter reads and writes in one step (each is up to 23 points).',
    commands: EXPORTING,
  }),
  webMetrics: setting({
    env: 'CREMA_WEB_METRICS',
    flag: 'web-metrics',
    schema: z.enum(['auto', 'on', 'off']),
    default: 'auto',
    doc: 'Whether the web port serves `/metrics`. `auto`: on when `CREMA_WEB_HOST` is a loopback address or `CREMA_WEB_METRICS_TOKEN` is set, off otherwise; `on` serves it (behind the token when one is set).',
    commands: SERVING,
  }),
  webMetricsToken: setting({
    env: 'CREMA_WEB_METRICS_TOKEN',
    flag: 'web-metrics-token',
    schema: z.string().trim().min(16, 'must be at least 16 characters').optional(),
    defaultDoc: 'none',
    doc: 'Bearer token `/metrics` on the web port requires (Prometheus: `authorization: {credentials_file: …}` in the scrape config).',
    commands: SERVING,
    secret: true,
  }),
  trustProxy: setting({
    env: 'CREMA_TRUST_PROXY',
    flag: 'trust-proxy',
    schema: z.string().transform((text, ctx) => {
      try {
        return parseTrustProxy(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
    default: 'off',
    display: (trust) => formatTrustProxy(trust),
    doc: 'Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` the web server believes (Express `trust proxy`): `off`, the number of proxies in front (`1`), or their addresses and CIDR ranges (`loopback`, `10.0.0.0/8`). Rate limits then key on the real client, and HSTS is sent for HTTPS requests.',
    commands: SERVING,
  }),
  rotateMb: setting({
    env: 'CREMA_ROTATE_MB',
    flag: 'rotate-mb',
    schema: zeroOrMore(1_000_000),
    default: '64',
    doc: 'Size (MiB) past which the generator renames its file to `<file>.1` (older ones to `.2`, `.3`, …) and starts a new one; 0 never rotates. `--bulk` never rotates.',
    commands: GENERATING,
  }),
  rotateKeep: setting({
    env: 'CREMA_ROTATE_KEEP',
    flag: 'rotate-keep',
    schema: wholeNumber(1, 10_000),
    default: '3',
    doc: 'Rotated files the generator keeps; it deletes older ones. The collector must read a file before it is deleted: keep enough to cover the collector’s downtime.',
    commands: GENERATING,
  }),
  aclCollectorPassword: aclPassword('collector', 'crema-collector'),
  aclProcessorPassword: aclPassword('processor', 'crema-processor'),
  aclExporterPassword: aclPassword('exporter', 'crema-exporter'),
  aclWebPassword: aclPassword('web', 'crema-web'),
});

type Settings = typeof SETTINGS;
export type SettingName = keyof Settings;

/** The value of every setting, as the stages use it (converted: milliseconds, bytes, the catalog itself). */
export type SettingValues = { readonly [K in SettingName]: ReturnType<Settings[K]['convert']> };

/** The effective configuration of one command. */
export interface Config extends SettingValues {
  readonly command: Command;
  /** Each setting's source; a setting the command does not read is always `default`. */
  readonly sources: Readonly<Record<SettingName, SettingSource>>;
}

/** Names of the settings `command` reads. */
export type SettingsOf<C extends Command> = { [K in SettingName]: C extends Settings[K]['commands'][number] ? K : never }[SettingName];

/**
 * The slice of the configuration one command's stage may read: only the settings the table says it
 * uses, with their sources. A stage's wiring takes this, so reading any other setting does not compile.
 */
export type StageConfig<C extends Command> = Pick<SettingValues, SettingsOf<C>> & {
  readonly sources: Readonly<Record<SettingsOf<C>, SettingSource>>;
};
