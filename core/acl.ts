/**
 * Least privilege on Redis: one ACL user per stage, allowed exactly the commands that stage sends
 * and the keys and channels it uses (`crema acl` prints them as `ACL SETUSER` lines).
 *
 * Keys and channels come from the table in `keys.ts`, the commands of the scripts from the scripts
 * themselves (`scripts.ts`): Redis checks every command a script runs against the user's ACL, so
 * `+evalsha` alone would not do. The commands a stage sends itself are listed here; the ACL test
 * runs a whole pipeline with these users, so a command used and not granted fails it.
 */
import { createHash } from 'node:crypto';
import { REDIS_STAGES, RedisKeys, type RedisStage } from './keys.js';
import { scriptCommands } from './scripts.js';
import { shardLayout } from './shards.js';

/** The Redis user of a stage. */
export function aclUser(stage: RedisStage): string {
  return `crema-${stage}`;
}

/**
 * Sent by every connection: its name (`CLIENT SETNAME`), ioredis's ready check (`INFO`), the
 * liveness probe (`PING`), and `SELECT` when REDIS_URL names a database. `HELLO` and `AUTH` (the
 * login) and `QUIT` need no grant.
 */
// CLUSTER SLOTS is how a Redis Cluster client learns which node holds which shard.
const CONNECTION_COMMANDS = ['client|setname', 'cluster|slots', 'info', 'ping', 'select'] as const;

/** Commands each stage sends itself, besides scripts. */
const STAGE_COMMANDS: Readonly<Record<RedisStage, readonly string[]>> = {
  // The push (MULTI RPUSH, then its script, EXEC), positions (HMGET), the queue length for
  // backpressure (LLEN), offset pruning (HSCAN, ZADD, WATCH … MULTI HDEL ZREM EXEC), the shard
  // count (MULTI HSETNX HGETALL EXEC), a drained file's position on every replica before it is
  // closed (HGET, ROLE, WAIT).
  collector: ['rpush', 'hmget', 'llen', 'hscan', 'zadd', 'zrangebyscore', 'watch', 'unwatch', 'multi', 'exec', 'hdel', 'zrem', 'hsetnx', 'hgetall', 'hget', 'role', 'wait'],
  // The shared settings (MULTI HSETNX HGETALL EXEC) and the ticker's PUBLISH (SPUBLISH with shards).
  processor: ['multi', 'exec', 'hsetnx', 'hgetall', 'publish', 'spublish'],
  // The checkpoint and the closed-through watermark (GET, SET), the changes (XREAD), open windows (ZRANGE) and their hashes (HGETALL).
  exporter: ['get', 'set', 'xread', 'zrange', 'hgetall'],
  // History (ZRANGE, HGETALL, and GET of each shard's closed-through watermark), the live stream
  // (SUBSCRIBE, or SSUBSCRIBE to every shard's channel; leaving them when the stored shard count differs).
  web: ['zrange', 'hgetall', 'get', 'subscribe', 'unsubscribe', 'ssubscribe', 'sunsubscribe'],
};

/**
 * The scripts of stages other than the processor. The processor runs every other script,
 * including any added later (a dead-letter replay, say), so a new script of its own needs no entry.
 */
const STAGE_SCRIPTS: Readonly<Partial<Record<RedisStage, readonly string[]>>> = {
  collector: ['pushBatch', 'initPosition'],
};

/** Everything one stage's user may do. */
export interface StageAcl {
  readonly stage: RedisStage;
  readonly user: string;
  /** ACL key selectors: `~pattern` (read and write) or `%R~pattern` (read only). */
  readonly keys: readonly string[];
  /** ACL channel selectors, `&channel`. */
  readonly channels: readonly string[];
  /** Commands, lower case, sorted; subcommands as `command|subcommand`. */
  readonly commands: readonly string[];
}

/** The scripts `stage` runs. */
export function stageScripts(stage: RedisStage): string[] {
  const others = new Set(Object.values(STAGE_SCRIPTS).flat());
  return [...scriptCommands().keys()].filter((name) => (stage === 'processor' ? !others.has(name) : (STAGE_SCRIPTS[stage] ?? []).includes(name)));
}

/** What each stage's user may do with the keys of `keys`, and of every shard in `shards`. */
export function stageAcls(keys: RedisKeys, shards: readonly RedisKeys[] = []): StageAcl[] {
  const byScript = scriptCommands();
  return REDIS_STAGES.map((stage) => {
    const every = [keys, ...shards].map((k) => k.grants(stage));
    const unique = <T>(items: T[], id: (item: T) => string) => [...new Map(items.map((item) => [id(item), item])).values()];
    const grants = {
      keys: unique(every.flatMap((g) => g.keys), (k) => `${k.access}~${k.pattern}`),
      channels: unique(every.flatMap((g) => g.channels), String),
    };
    const scripts = stageScripts(stage);
    const commands = new Set<string>([...CONNECTION_COMMANDS, ...STAGE_COMMANDS[stage]]);
    if (scripts.length > 0) for (const command of ['eval', 'evalsha', ...scripts.flatMap((name) => byScript.get(name) ?? [])]) commands.add(command);
    return {
      stage,
      user: aclUser(stage),
      keys: grants.keys.map((k) => `${k.access === 'read' ? '%R' : ''}~${k.pattern}`),
      channels: grants.channels.map((channel) => `&${channel}`),
      commands: [...commands].sort(),
    };
  });
}

/** Stands for a password that was not given; Redis refuses it, so the line cannot be used as it is. */
export function passwordPlaceholder(stage: RedisStage): string {
  return `#<sha256-of-${aclUser(stage)}-password>`;
}

/**
 * One `ACL SETUSER` line: `reset` first, so that running it again replaces the user's rules; the
 * password as its SHA-256 (`#…`), never in clear, or a placeholder Redis refuses when none is given.
 */
export function aclSetUser(acl: StageAcl, password: string | undefined): string {
  const secret = password === undefined ? passwordPlaceholder(acl.stage) : `#${createHash('sha256').update(password).digest('hex')}`;
  return ['ACL SETUSER', acl.user, 'reset', 'on', secret, 'resetchannels', ...acl.keys, ...acl.channels, ...acl.commands.map((c) => `+${c}`)].join(' ');
}

/** The passwords `crema acl` was given, by stage. */
export type AclPasswords = Readonly<Partial<Record<RedisStage, string>>>;

/** What `crema acl` prints: one `ACL SETUSER` line per stage, and the users it had no password for. */
export function aclCommand(prefix: string, shards: number, passwords: AclPasswords): { lines: string[]; withoutPassword: string[] } {
  // One shard keeps the prefix's own keys on one Redis and moves under a hash tag on a cluster: both are granted.
  const acls = stageAcls(new RedisKeys(prefix), shardLayout(prefix, shards, true).shards);
  return {
    lines: acls.map((acl) => aclSetUser(acl, passwords[acl.stage])),
    withoutPassword: acls.filter((acl) => passwords[acl.stage] === undefined).map((acl) => acl.user),
  };
}
