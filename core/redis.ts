/**
 * Redis connections, with the Lua scripts of `scripts.ts` registered on each.
 *
 * Connections are made for exactly-once work: no offline queue and no automatic re-sending of
 * commands after a reconnect, so a command whose answer was lost is never silently applied twice;
 * the stages resynchronise from Redis instead.
 *
 * Each connection also watches itself:
 * - **Outages**: it reconnects forever with capped backoff, logging once when Redis becomes
 *   unreachable and once when it is back.
 * - **Hangs**: a Redis that keeps the connection open and stops answering (a stopped process, a
 *   stuck server, a network that drops packets) causes no error at all. A PING every second finds
 *   it: a connection whose PING has gone unanswered for 3 s (or whose login has) is *not
 *   answering*, logged once; when the answer comes, it logs once that Redis answers again.
 *   Commands are not timed out: one sent to a hung Redis may still be applied when it wakes, so
 *   the stages wait for its answer rather than retry (the scripts are fenced and compare-and-set,
 *   which would make a retry safe too, but waiting keeps the logs and metrics quiet).
 * - **Refusals**: Redis refusing the login (WRONGPASS, NOAUTH), a command, key or channel
 *   (NOPERM), or a TLS certificate is not an outage that waiting can mend. The connection stops
 *   reconnecting and reports one {@link RedisAccessError} naming the setting to change
 *   ({@link accessDenied}); `runStages` stops the command with it (exit code 2).
 */
import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { CremaError } from './errors.js';
import type { Logger } from './log.js';
import { newCluster } from './redis-cluster.js';
import { type RedisClient, scriptCommands, scriptNames, defineScripts } from './scripts.js';
import { SETTINGS, type SettingValues, settingLabel } from './settings/index.js';

export type { RedisClient } from './scripts.js';

/** Where to connect: REDIS_URL (or the cluster's seeds) and the TLS files, as the settings give them. */
export type RedisTarget = Pick<SettingValues, 'redisUrl'> & Partial<Pick<SettingValues, 'redisClusterUrls' | 'redisTlsCa' | 'redisTlsCert' | 'redisTlsKey'>>;

/** Whether a target is a Redis Cluster (REDIS_CLUSTER_URLS is set). */
export function isClusterTarget(t: RedisTarget): boolean {
  return (t.redisClusterUrls?.length ?? 0) > 0;
}

/** How often a connection PINGs Redis, and how long an unanswered PING may wait before the connection counts as not answering. */
export interface LivenessTiming {
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export const LIVENESS: LivenessTiming = Object.freeze({ intervalMs: 1000, timeoutMs: 3000 });

export interface RedisConnectionOptions {
  /** Shown in `CLIENT LIST`. */
  readonly name: string;
  readonly log?: Logger;
  /** Extra ioredis options (tests use this for short timeouts). */
  readonly overrides?: RedisOptions;
  /** Extra ioredis options of a cluster client. */
  readonly clusterOverrides?: ClusterOptions;
  /** @defaultValue {@link LIVENESS} */
  readonly liveness?: LivenessTiming;
}

/**
 * Redis refused this connection something no retry will change: the login, a command, a key, a
 * channel, or the TLS handshake. The message is one line that names the setting to change.
 */
export class RedisAccessError extends CremaError {
  constructor(
    message: string,
    /** The connection's name, as in `CLIENT LIST`. */
    readonly connection: string,
  ) {
    super(message, 'redis_access');
  }
}

interface ConnectionState {
  readonly name: string;
  /** Connected, but neither a PING nor the login has been answered for longer than the timeout. */
  hung: boolean;
  denied: RedisAccessError | undefined;
  readonly onDenied: Set<(error: RedisAccessError) => void>;
  readonly onAnswering: Set<(answering: boolean) => void>;
}

const states = new WeakMap<RedisClient, ConnectionState>();

function stateOf(redis: RedisClient): ConnectionState | undefined {
  return states.get(redis);
}

/**
 * A connection to one Redis at REDIS_URL or, when REDIS_CLUSTER_URLS is set, to a Redis Cluster:
 * what every stage opens.
 */
export function createRedisClient(target: RedisTarget, options: RedisConnectionOptions): RedisClient {
  return isClusterTarget(target) ? createRedisCluster(target, options) : createRedis(target, options);
}

/**
 * A Redis Cluster client (`redis-cluster.ts`), watched like a single connection: scripts defined,
 * outages and refusals logged and reported, and a PING to every master each interval, so that one
 * master that hangs makes the client *not answering*.
 */
export function createRedisCluster(target: RedisTarget | readonly string[], options: RedisConnectionOptions): Cluster {
  const t: RedisTarget = isSeedList(target) ? { redisUrl: target[0] ?? '', redisClusterUrls: [...target] } : target;
  const cluster = newCluster({ seeds: t.redisClusterUrls ?? [], name: options.name, tls: tlsOptions(t), overrides: options.clusterOverrides });
  watch(cluster, t, options);
  return cluster;
}

function isSeedList(target: RedisTarget | readonly string[]): target is readonly string[] {
  return Array.isArray(target);
}

function watch(client: RedisClient, t: RedisTarget, options: RedisConnectionOptions): void {
  const state: ConnectionState = { name: options.name, hung: false, denied: undefined, onDenied: new Set(), onAnswering: new Set() };
  states.set(client, state);
  defineScripts(client);
  watchCommands(client, state, t, options.log);
  watchConnection(client, state, t, options.log);
  watchLiveness(client, state, options.liveness ?? LIVENESS, options.log);
}

/**
 * Opens a connection with the scripts defined (lazily: {@link connectRedis} connects). It
 * reconnects forever with capped backoff and logs once per change of state; commands fail fast
 * while it is down.
 */
export function createRedis(target: string | RedisTarget, options: RedisConnectionOptions): Redis {
  const t: RedisTarget = typeof target === 'string' ? { redisUrl: target } : target;
  const tls = tlsOptions(t);
  const redis = new Redis(t.redisUrl, {
    connectionName: options.name,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    // A subscriber subscribes again itself after a reconnect (web/stream-hub.ts), where a refusal
    // is handled: ioredis's own re-subscription leaves a refused SUBSCRIBE unhandled, which ends the process.
    autoResubscribe: false,
    // CLIENT SETINFO exists from Redis 7.2 on; without it, the ACL users of `crema acl` work on 7.0.
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 10), 2000),
    ...(tls && { tls }),
    ...options.overrides,
  });
  watch(redis, t, options);
  return redis;
}

/** The URL that names the server in messages: REDIS_URL, or the cluster's first seed. */
function primaryUrl(t: RedisTarget): string {
  return t.redisClusterUrls?.[0] ?? t.redisUrl;
}

/** The setting where the user puts the server's address and login. */
function urlSetting(t: RedisTarget): { readonly env: string; readonly flag: string } {
  return isClusterTarget(t) ? SETTINGS.redisClusterUrls : SETTINGS.redisUrl;
}

/** The TLS options of a `rediss://` target: its CA, client certificate and key, when given. */
function tlsOptions(t: RedisTarget): ConnectionOptions | undefined {
  if (!primaryUrl(t).startsWith('rediss:')) return undefined;
  return {
    ...(t.redisTlsCa && { ca: t.redisTlsCa.pem }),
    ...(t.redisTlsCert && { cert: t.redisTlsCert.pem }),
    ...(t.redisTlsKey && { key: t.redisTlsKey.pem }),
  };
}

/** Whether the connection is ready and Redis answers on it. */
export function isAnswering(redis: RedisClient): boolean {
  return redis.status === 'ready' && !stateOf(redis)?.hung;
}

/**
 * Calls `listener` whenever Redis starts or stops answering on the connection: `true` when it is
 * ready, or answers again after a hang; `false` when it closes or stops answering. Returns a function
 * that removes the listener.
 */
export function onAnsweringChange(redis: RedisClient, listener: (answering: boolean) => void): () => void {
  const state = stateOf(redis);
  state?.onAnswering.add(listener);
  return () => state?.onAnswering.delete(listener);
}

/**
 * Calls `listener` with the connection's {@link RedisAccessError} when Redis refuses it something
 * (at once if it already has): synchronously, before whoever sent the refused command hears of it.
 */
export function onAccessDenied(redis: RedisClient, listener: (error: RedisAccessError) => void): void {
  const state = stateOf(redis);
  if (state?.denied) return listener(state.denied);
  state?.onDenied.add(listener);
}

/** Whether `error` is one of Redis's permission refusals (NOPERM, or a script's command or key refused by the ACL). */
export function isPermissionError(error: unknown): boolean {
  const message = (error as Error | undefined)?.message ?? '';
  return message.startsWith('NOPERM') || message.includes('The user executing the script can');
}

function deny(redis: RedisClient, state: ConnectionState, message: string): void {
  if (state.denied) return;
  state.denied = new RedisAccessError(message, state.name);
  const listeners = [...state.onDenied];
  state.onDenied.clear();
  for (const listener of listeners) listener(state.denied);
  // Nothing to wait for: reconnecting would be refused again.
  redis.disconnect();
}

function notifyAnswering(redis: RedisClient, state: ConnectionState): void {
  const answering = isAnswering(redis);
  for (const listener of state.onAnswering) listener(answering);
}

type SentCommand = { name: string; args: unknown[]; reject: (error: Error) => void; [WATCHED]?: true };
const WATCHED = Symbol('crema.watched');

/**
 * Watches every command's answer for permission refusals, before whoever sent the command hears
 * of it: a refusal stops the process at once (runStages), rather than after a stage has logged
 * that it will retry. The Redis client tolerates a refused CLIENT SETNAME or INFO, and so does
 * Crema (logged once).
 */
function watchCommands(redis: RedisClient, state: ConnectionState, t: RedisTarget, log: Logger | undefined): void {
  const send = redis.sendCommand.bind(redis) as (command: SentCommand, ...rest: unknown[]) => unknown;
  const tolerated = new Set<string>();
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    if (!command[WATCHED]) {
      command[WATCHED] = true;
      const reject = command.reject;
      command.reject = (error: Error) => {
        if (LOGIN_REFUSED.test(error.message)) {
          deny(redis, state, loginMessage(error, t));
        } else if (isPermissionError(error)) {
          const name = command.name.toLowerCase();
          if (name === 'client' || name === 'info') {
            // ioredis goes on without a connection name, or without waiting for Redis to load its data.
            if (name === 'client' && !tolerated.has(name)) log?.warn({ connection: state.name, err: error.message }, 'redis user may not name its connection (CLIENT SETNAME); grant +client|setname');
            tolerated.add(name);
          } else {
            deny(redis, state, permissionMessage(error, command, t));
          }
        }
        reject.call(command, error);
      };
    }
    return send(command, ...rest);
  };
}

/** Logs once when the connection goes down and once when it is back; stops it for good on a refusal no retry can change. */
function watchConnection(redis: RedisClient, state: ConnectionState, t: RedisTarget, log: Logger | undefined): void {
  let down = false;
  let resetsBeforeReady = 0;
  redis.on('ready', () => {
    if (down) log?.info({ connection: state.name }, 'redis reachable again');
    down = false;
    resetsBeforeReady = 0;
  });
  if (redis instanceof Cluster) {
    // A node's refusal (a wrong password, a certificate) reaches the cluster client as `node error`.
    redis.on('node error', (error: Error & { code?: string }) => {
      if (state.denied) return;
      const refused = refusal(error, t);
      if (refused !== undefined) deny(redis, state, refused);
    });
  }
  redis.on('error', (error: Error & { code?: string; lastNodeError?: Error }) => {
    if (state.denied) return;
    const refused = refusal(error.lastNodeError ?? error, t);
    if (refused !== undefined) return deny(redis, state, refused);
    // A TLS server that closes the connection right after the handshake, every time, wants a
    // client certificate (or another one); a plain reset happens once in an outage, not three times in a row.
    if (tlsOptions(t) && redis instanceof Redis && redis.status !== 'ready' && (error.code === 'ECONNRESET' || error.code === 'EPIPE') && ++resetsBeforeReady >= 3) {
      return deny(redis, state, tlsResetMessage(t));
    }
    // The cluster client learns the slots over connections whose errors it drops: a refused
    // certificate reaches it only as "Failed to refresh slots cache". One seed, asked directly, says why.
    if (redis instanceof Cluster && redis.status !== 'ready') askSeedWhy(redis, state, t);
    if (!down) log?.warn({ connection: state.name, err: error.message }, 'redis unreachable; retrying with backoff');
    down = true;
  });
  redis.on('ready', () => notifyAnswering(redis, state));
  redis.on('close', () => notifyAnswering(redis, state));
}

const askingSeed = new WeakSet<Cluster>();

/** Connects once to the first seed, as the cluster client would; denies the cluster when that is refused for good. */
function askSeedWhy(cluster: Cluster, state: ConnectionState, t: RedisTarget): void {
  if (askingSeed.has(cluster) || state.denied) return;
  askingSeed.add(cluster);
  const tls = tlsOptions(t);
  const probe = new Redis(primaryUrl(t), { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 5000, disableClientInfo: true, ...(tls && { tls }) });
  let failure: Error | undefined;
  probe.on('error', (error: Error) => (failure ??= error));
  probe
    .connect()
    .then(() => probe.ping())
    .catch((error: Error) => (failure ??= error))
    .finally(() => {
      probe.disconnect();
      askingSeed.delete(cluster);
      const refused = failure && refusal(failure, t);
      if (refused !== undefined && cluster.status !== 'ready') deny(cluster, state, refused);
    });
}

/**
 * PINGs every `intervalMs` while ready; marks the connection not answering when a PING (or, while
 * connecting, the login) has waited `timeoutMs`, and answering again when the answer comes.
 */
function watchLiveness(redis: RedisClient, state: ConnectionState, timing: LivenessTiming, log: Logger | undefined): void {
  // On a cluster every master holds shards: one that hangs stalls them.
  const ping = redis instanceof Cluster ? () => Promise.all(redis.nodes('master').map((node) => node.ping())) : () => redis.ping();
  let pingSentAt: number | undefined;
  let connectedAt: number | undefined;
  const setHung = (hung: boolean, waitedMs?: number) => {
    if (state.hung === hung) return;
    state.hung = hung;
    if (hung) log?.warn({ connection: state.name, waitedMs }, 'redis not answering');
    else log?.info({ connection: state.name }, 'redis answering again');
    notifyAnswering(redis, state);
  };
  const timer = setInterval(() => {
    const now = Date.now();
    if (redis.status === 'connect' && connectedAt !== undefined && now - connectedAt >= timing.timeoutMs) setHung(true, now - connectedAt);
    if (redis.status !== 'ready') return;
    if (pingSentAt !== undefined) {
      if (now - pingSentAt >= timing.timeoutMs) setHung(true, now - pingSentAt);
      return;
    }
    const sentAt = now;
    pingSentAt = sentAt;
    const answered = () => {
      if (pingSentAt !== sentAt) return;
      pingSentAt = undefined;
      // A PING failed by a closing connection is no answer: the outage's own log lines follow.
      if (redis.status === 'ready') setHung(false);
    };
    ping().then(answered, answered);
  }, timing.intervalMs);
  timer.unref();
  redis.on('connect', () => (connectedAt = Date.now()));
  redis.on('ready', () => {
    connectedAt = undefined;
    setHung(false);
  });
  redis.on('close', () => {
    connectedAt = undefined;
    pingSentAt = undefined;
    // Closed is down, not hung: the outage is logged as such.
    state.hung = false;
  });
  redis.on('end', () => clearInterval(timer));
}

const label = (s: { readonly env: string; readonly flag: string }) => settingLabel(s);

/** Host, port and user of a target, for messages (never its password). */
function describeTarget(t: RedisTarget): { address: string; user: string } {
  try {
    const url = new URL(primaryUrl(t));
    const user = decodeURIComponent(url.username) || url.searchParams.get('username') || 'default';
    return { address: `${url.hostname}:${url.port || '6379'}`, user };
  } catch {
    return { address: 'the server', user: 'default' };
  }
}

/** Node's codes for a server certificate it could not verify. */
const UNVERIFIED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

/** The message for an error no reconnect can change, or undefined for an outage. */
function refusal(error: Error & { code?: string; cert?: { subjectaltname?: string; subject?: { CN?: string } } }, t: RedisTarget): string | undefined {
  const { address } = describeTarget(t);
  const message = error.message.split('\n')[0]!.trim();
  if (LOGIN_REFUSED.test(message)) return loginMessage(error, t);
  if (isPermissionError(error)) return permissionMessage(error, undefined, t);
  const code = error.code ?? '';
  if (UNVERIFIED.has(code)) {
    const ca = t.redisTlsCa;
    return ca
      ? `${label(SETTINGS.redisTlsCa)} is ${ca.path}, but the certificate of the Redis server at ${address} is not signed by it (${message}); give the CA that signed the server's certificate.`
      : `${label(SETTINGS.redisTlsCa)} is not set, and the system's CAs do not vouch for the certificate of the Redis server at ${address} (${message}); set it to the CA that signed the server's certificate.`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = error.cert?.subjectaltname ?? (error.cert?.subject?.CN ? `CN=${error.cert.subject.CN}` : 'other names');
    return `${label(urlSetting(t))}: the certificate of the Redis server at ${address} is not for ${address.replace(/:\d+$/, '')} (it names ${names}); put a name the certificate names in ${urlSetting(t).env}.`;
  }
  if (/^ERR_SSL_.*ALERT/.test(code)) {
    const cert = t.redisTlsCert;
    return cert
      ? `${label(SETTINGS.redisTlsCert)} is ${cert.path}, but the Redis server at ${address} refused it (${message}); give a client certificate signed by the CA the server trusts (tls-ca-cert-file).`
      : `${label(SETTINGS.redisTlsCert)}: the Redis server at ${address} refused the connection (${message}); it wants a client certificate: set ${SETTINGS.redisTlsCert.env} and ${SETTINGS.redisTlsKey.env}.`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return `${label(urlSetting(t))}: the server at ${address} does not speak TLS (${message}); use redis://, or the port where Redis serves TLS.`;
  }
  return undefined;
}

const LOGIN_REFUSED = /^(WRONGPASS|NOAUTH)/;

function loginMessage(error: Error, t: RedisTarget): string {
  const { address, user } = describeTarget(t);
  const message = error.message.split('\n')[0]!.trim().replace(/\.$/, '');
  const env = urlSetting(t).env;
  return `${label(urlSetting(t))}: Redis at ${address} refused to log in user "${user}": ${message}. Check the user and password in ${env} (or in the file ${env}_FILE names); \`crema acl\` prints a user for each stage.`;
}

function tlsResetMessage(t: RedisTarget): string {
  const { address } = describeTarget(t);
  return t.redisTlsCert
    ? `${label(SETTINGS.redisTlsCert)} is ${t.redisTlsCert.path}, but the Redis server at ${address} closes every TLS connection as soon as it is made: it does not accept that client certificate; give one signed by the CA the server trusts (tls-ca-cert-file).`
    : `${label(SETTINGS.redisTlsCert)} is not set, and the Redis server at ${address} closes every TLS connection as soon as it is made: it wants a client certificate (tls-auth-clients yes); set ${SETTINGS.redisTlsCert.env} and ${SETTINGS.redisTlsKey.env}.`;
}

/** One line for a permission refusal: who was refused what, and where to grant it. */
function permissionMessage(error: Error, command: SentCommand | undefined, t: RedisTarget): string {
  const { address, user } = describeTarget(t);
  const message = error.message.split('\n')[0]!.trim();
  const scriptSha = /script: ([0-9a-f]{40})/.exec(message)?.[1];
  let what: string;
  if (scriptSha !== undefined) {
    const script = scriptNames().get(scriptSha) ?? 'a script';
    const commands = (scriptCommands().get(script) ?? []).join(', ');
    what = /access at least one of the keys/.test(message)
      ? `use the keys of script ${script}`
      : /channel/.test(message)
        ? `publish on the channel of script ${script}`
        : `run one of the commands of script ${script}${commands ? ` (${commands})` : ''}`;
  } else {
    const name = command ? command.name.toLowerCase() : (/'([a-z|]+)' command/.exec(message)?.[1] ?? 'a command');
    const args = command?.args.map(String).join(' ') ?? '';
    what = /channels/.test(message) ? `use the channel ${args} (${name})` : /keys/.test(message) ? `use the keys of ${name} ${args}` : `run ${name}`;
  }
  return `${label(urlSetting(t))}: Redis at ${address} refused user "${user}": it may not ${what} (${message}). Grant it as \`crema acl\` does for this stage, or use a user that may.`;
}

/**
 * The Redis client's console messages in Crema's words (for `routeConsole`): the ready check it
 * skips for a user that may not run INFO, errors no listener took, and its warnings about passwords.
 */
export function describeRedisClientMessage(text: string): { msg: string; fields?: Record<string, unknown>; level?: 'warn' | 'error' } | undefined {
  const info = /^Skipping the ready check because INFO command fails: "(.*)"/.exec(text);
  if (info) return { msg: 'redis user may not run INFO: not waiting for Redis to finish loading its data', fields: { err: info[1], grant: '+info' } };
  const unhandled = /^\[ioredis\] Unhandled error event: (.*)/.exec(text);
  if (unhandled) return { msg: 'redis client error', fields: { err: unhandled[1] }, level: 'error' };
  const warning = /^\[(WARN|ERROR)\] (.*)/.exec(text);
  if (warning) return { msg: 'redis client warning', fields: { detail: warning[2] }, level: warning[1] === 'ERROR' ? 'error' : 'warn' };
  return undefined;
}

/**
 * Connects, waiting (with the connection's own backoff) until Redis answers or `signal` aborts.
 * Rejects with the connection's {@link RedisAccessError} when Redis refuses it.
 */
export async function connectRedis(redis: RedisClient, signal?: AbortSignal): Promise<void> {
  const state = stateOf(redis);
  if (state?.denied) throw state.denied;
  if (redis.status === 'ready') return;
  if (redis.status === 'wait') redis.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      state?.onDenied.delete(onDenied);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onAbort = () => {
      cleanup();
      reject(new Error('aborted while connecting to redis'));
    };
    const onDenied = (error: RedisAccessError) => {
      cleanup();
      reject(error);
    };
    if (signal?.aborted) return onAbort();
    redis.on('ready', onReady);
    state?.onDenied.add(onDenied);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Closes a connection politely, or drops it when Redis does not answer. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (isAnswering(redis)) {
      await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    }
  } catch {
    // quitting a broken connection fails; disconnect below ends it either way
  }
  redis.disconnect();
}
