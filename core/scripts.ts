/**
 * The Lua scripts, and the one typed way to call them.
 *
 * {@link Scripts} has one method per script. It alone knows each script's key order and argument
 * encoding, checks what it sends, and turns the scripts' codes into typed errors; callers pass
 * and get domain values (a batch, a lease, window increments). Every script also checks its own
 * arguments before its first write, because Redis keeps whatever a failing script wrote before
 * it failed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Cluster, Command, type Redis } from 'ioredis';
import { type DeadLetterEntry, DEFAULT_DEAD_LETTER_MAX } from './dead-letter.js';
import { CremaError, ScriptCode, scriptError } from './errors.js';
import type { RedisKeys } from './keys.js';
import { unpackByteStrings } from './msgpack-strings.js';

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));
const INCLUDE = /^--- @include "([a-z-]+)"$/gm;

interface ScriptSource {
  readonly name: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

let sources: readonly ScriptSource[] | undefined;

/** The scripts in `core/lua`, named `<name>-<number of keys>.lua`, with their includes spliced in; read once per process. */
function scriptSources(): readonly ScriptSource[] {
  return (sources ??= readdirSync(LUA_DIR)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => {
      const match = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!match) throw new Error(`Lua script ${file} is not named <name>-<number of keys>.lua`);
      const name = match[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      const lua = readFileSync(LUA_DIR + file, 'utf8').replace(INCLUDE, (_, include: string) =>
        readFileSync(`${LUA_DIR}includes/${include}.lua`, 'utf8'),
      );
      return { name, numberOfKeys: Number(match[2]), lua };
    }));
}

/** A connection to one Redis or to a Redis Cluster: the scripts run on either. */
export type RedisClient = Redis | Cluster;

const CALL = /redis\.p?call\(\s*(['"])([A-Za-z]+)\1/g;
const ANY_CALL = /redis\.p?call\(/g;

/**
 * The Redis commands each script runs (lower case, sorted), by script name: Redis checks a script's
 * commands against the user's ACL as if they were sent one by one, so `crema acl` grants them.
 * Throws when a script names a command any other way than as a literal, which could not be granted.
 */
export function scriptCommands(): ReadonlyMap<string, readonly string[]> {
  return new Map(
    scriptSources().map((script) => {
      const commands = new Set([...script.lua.matchAll(CALL)].map((m) => m[2]!.toLowerCase()));
      const calls = script.lua.match(ANY_CALL)?.length ?? 0;
      if (calls !== [...script.lua.matchAll(CALL)].length) throw new Error(`Lua script ${script.name} calls redis.call with a command that is not a literal; crema acl cannot grant it`);
      return [script.name, [...commands].sort()];
    }),
  );
}

/** Names of the scripts by the SHA-1 Redis knows them by (for messages about a script Redis refused). */
export function scriptNames(): ReadonlyMap<string, string> {
  return new Map(scriptSources().map((script) => [createHash('sha1').update(script.lua).digest('hex'), script.name]));
}

/** The push script's source, for the push's transaction (see {@link Scripts.pushBatch}). */
function pushScript(): string {
  return scriptSources().find((script) => script.name === 'pushBatch')!.lua;
}

/** Registers every script on a connection (`EVALSHA`, falling back to `EVAL` once per script). */
export function defineScripts(redis: RedisClient): void {
  for (const script of scriptSources()) {
    redis.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
}

type Reply = [number, ...unknown[]];
type Arg = string | number | Buffer;

/** The commands {@link defineScripts} adds, as ioredis names them; used only in this module. */
interface ScriptCommands {
  pushBatch(...keysAndArgs: Arg[]): Promise<Reply>;
  initPosition(...keysAndArgs: Arg[]): Promise<Reply>;
  acquireLease(...keysAndArgs: Arg[]): Promise<Reply>;
  claimBatchBuffer(...keysAndArgs: Arg[]): Promise<[number, Buffer?] | [number, Buffer]>;
  commitBatch(...keysAndArgs: Arg[]): Promise<Reply>;
  renewLease(...keysAndArgs: Arg[]): Promise<Reply>;
  releaseLease(...keysAndArgs: Arg[]): Promise<Reply>;
  recoverConsumers(...keysAndArgs: Arg[]): Promise<Reply>;
  tick(...keysAndArgs: Arg[]): Promise<Reply>;
  replayDeadLetters(...keysAndArgs: Arg[]): Promise<Reply>;
  purgeDeadLetters(...keysAndArgs: Arg[]): Promise<Reply>;
  migrateDeadLetters(...keysAndArgs: Arg[]): Promise<Reply>;
}

/** What one window gains from a batch. */
export interface WindowDelta {
  /** Orders counted in the window (its `late` increment if it is already closed). */
  orders: number;
  /** Increments by hash field (`orders`, `drinks`, `age:…`, `payment:…`, `coffee:…`). */
  readonly fields: Map<string, number>;
}

/** A claimed batch, counted: what one commit applies. */
export interface BatchCommit {
  /** The envelopes exactly as claimed, oldest first. */
  readonly envelopes: readonly Buffer[];
  /** Increments per window start. */
  readonly windows: ReadonlyMap<number, WindowDelta>;
  /** Dead letters, in batch order. */
  readonly dead: readonly DeadLetterEntry[];
}

/** Window rules every commit and tick applies. */
export interface WindowRules {
  readonly windowMs: number;
  readonly graceMs: number;
  readonly retentionMs: number;
}

/** A consumer's claim on its processing list. */
export interface LeaseHold {
  readonly consumer: string;
  readonly token: string;
  readonly leaseMs: number;
}

/** A file's next batch of envelopes and the read positions around it. */
export interface PushBatch {
  readonly fileKey: string;
  /** Position the batch starts at; must be the stored one. */
  readonly expected: string;
  /** Position just after the batch. */
  readonly next: string;
  /** The batch's envelopes, oldest first; none for a batch that only moves the position (a truncation). */
  readonly envelopes: EncodedEnvelopes;
}

/** A batch's envelopes as the RESP bulk strings of an `RPUSH` (written by `collector/envelope-batch.ts`). */
export interface EncodedEnvelopes {
  readonly count: number;
  /** `$<length>\r\n<envelope>\r\n` for each envelope. */
  readonly bulks: Buffer;
  /** `prefix` followed by {@link bulks}, without copying the bulks when the batch kept room for it. */
  readonly prefixed?: (prefix: Buffer) => Buffer;
  /** The first and the last envelope (undefined when there is none): the push checks the queue ends with them. */
  readonly first: Buffer | undefined;
  readonly last: Buffer | undefined;
}

/**
 * `RPUSH queue <envelopes>` whose envelopes are already RESP bulk strings: sent as they are, with
 * no encoding per argument (ioredis's would cost ~0.7 µs of client CPU a line). Its one key
 * argument is what ioredis reads to route the command to the queue's slot.
 */
class EncodedRpush extends Command {
  constructor(
    private readonly queue: string,
    private readonly envelopes: EncodedEnvelopes,
  ) {
    super('rpush', [queue]);
  }

  override toWritable(): Buffer {
    const head = `*${this.envelopes.count + 2}\r\n$5\r\nRPUSH\r\n$${Buffer.byteLength(this.queue)}\r\n${this.queue}\r\n`;
    const prefix = Buffer.from(head);
    return this.envelopes.prefixed?.(prefix) ?? Buffer.concat([prefix, this.envelopes.bulks]);
  }
}

/** A window's hash as HGETALL's flat field/value list. */
export interface ChangedWindow {
  readonly start: number;
  readonly fields: readonly string[];
}

/** What a replay or purge did with each dead letter it was given, by number. */
export interface DeadLetterOutcome {
  /** Replayed (put back on the queue) or deleted, and gone from the store. */
  readonly done: number[];
  /** Not in the store any more: replayed, purged or dropped at the cap meanwhile. */
  readonly gone: number[];
  /** Still in the store: a replay cannot replay them, a purge found them younger than its cutoff. */
  readonly kept: number[];
}

/** Most dead letters one replay or purge call handles (Lua's `unpack` limit is about 8,000). */
export const MAX_DEAD_LETTERS_PER_CALL = 5000;

export interface ScriptsOptions {
  /**
   * Check arguments in the client before sending them. Off only in tests of the scripts' own
   * checks. @defaultValue true
   */
  readonly clientChecks?: boolean;
}

/** A script was called with an argument it refuses; nothing was written. */
export class ScriptArgumentError extends CremaError {
  constructor(
    readonly script: string,
    detail: string,
  ) {
    super(`script ${script} refused its arguments: ${detail}`, 'script_argument');
  }
}

const POSITION = /^\d+:\d+$/;
/** Largest epoch ms a script accepts (year 33658), as in `core/lua/includes/arguments.lua`. */
const MAX_EPOCH_MS = 1e15;
const MAX_DURATION_MS = 3_153_600_000_000;

/** Every script of one key prefix, as typed calls on one connection. */
export class Scripts {
  private readonly commands: ScriptCommands;
  private readonly clientChecks: boolean;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    options: ScriptsOptions = {},
  ) {
    this.commands = redis as unknown as ScriptCommands;
    this.clientChecks = options.clientChecks ?? true;
  }

  /** Stores a file's read position unless one is stored; returns the stored one. */
  async initPosition(fileKey: string, position: string): Promise<string> {
    this.check('initPosition', fileKey !== '' && POSITION.test(position), () => `file key ${fileKey}, position ${position}`);
    const reply = await this.commands.initPosition(this.keys.offsets, fileKey, position);
    return String(this.ok('initPosition', reply)[0]);
  }

  /**
   * Appends a batch to the queue and moves its file's position, only from the expected position,
   * in one MULTI/EXEC: a plain `RPUSH` of the envelopes, then `push-batch`, which moves the
   * position or, when it had moved, takes exactly those envelopes off the queue again. Returns the
   * queue's length; throws {@link OffsetConflictError} when the position had moved.
   */
  async pushBatch(batch: PushBatch): Promise<number> {
    const { envelopes } = batch;
    this.check('pushBatch', batch.fileKey !== '' && POSITION.test(batch.expected) && POSITION.test(batch.next), () => `${batch.fileKey} ${batch.expected} → ${batch.next}`);
    this.check('pushBatch', Number.isSafeInteger(envelopes.count) && envelopes.count >= 0 && (envelopes.count === 0 || (envelopes.first !== undefined && envelopes.last !== undefined && envelopes.bulks.length > 0)), () => `${envelopes.count} envelopes, first and last ${envelopes.first ? 'given' : 'missing'}`);
    const k = this.keys;
    const args: Arg[] = [k.queue, k.offsets, batch.fileKey, batch.expected, batch.next, envelopes.count, envelopes.first ?? '', envelopes.last ?? ''];
    let reply: Reply;
    // Only a whole number of envelopes is ever framed as an RPUSH: anything else goes to the script alone, which refuses it.
    if (!(Number.isSafeInteger(envelopes.count) && envelopes.count > 0)) {
      reply = await this.commands.pushBatch(...args);
    } else {
      // One transaction for one slot: ioredis sends a MULTI pipeline to one node and retries it
      // whole (never command by command), and Redis runs it with nothing in between. The script
      // goes as EVAL, not EVALSHA: a node that lacks it (a promoted replica, a restarted master)
      // answers NOSCRIPT only at EXEC, after the RPUSH ran, which would leave the batch queued
      // while the push failed and is made again. EVAL costs Redis a hash of the script per batch.
      const transaction = this.redis.multi();
      (transaction as unknown as { sendCommand(command: Command): unknown }).sendCommand(new EncodedRpush(k.queue, envelopes));
      transaction.eval(pushScript(), 2, ...args);
      const results = await transaction.exec();
      if (!results) throw new CremaError('the push transaction was aborted', 'push_aborted');
      for (const [error] of results) if (error) throw error;
      reply = results[1]![1] as Reply;
    }
    if (reply[0] === ScriptCode.OffsetConflict) {
      throw scriptError(reply[0], { fileKey: batch.fileKey, expected: batch.expected, actual: String(reply[1]) });
    }
    return Number(this.ok('pushBatch', reply)[0]);
  }

  /** Takes a consumer's lease with `token`; returns how many envelopes it had claimed before. */
  async acquireLease(lease: LeaseHold): Promise<number> {
    this.checkLease('acquireLease', lease);
    const { consumer } = lease;
    const reply = await this.commands.acquireLease(this.keys.lease(consumer), this.keys.consumers, this.keys.processing(consumer), lease.token, lease.leaseMs, consumer);
    return Number(this.ok('acquireLease', reply, lease)[0]);
  }

  /** Renews a lease; throws {@link LeaseLostError} when it is no longer held with this token. */
  async renewLease(lease: LeaseHold): Promise<void> {
    this.checkLease('renewLease', lease);
    this.ok('renewLease', await this.commands.renewLease(this.keys.lease(lease.consumer), lease.token, lease.leaseMs), lease);
  }

  /**
   * Gives a lease up; returns how many claimed envelopes were left for recovery. Throws
   * {@link LeaseLostError} when the lease was not held with this token.
   */
  async releaseLease(lease: LeaseHold): Promise<number> {
    this.checkLease('releaseLease', lease);
    const { consumer } = lease;
    const reply = await this.commands.releaseLease(this.keys.lease(consumer), this.keys.processing(consumer), this.keys.consumers, lease.token, consumer);
    return Number(this.ok('releaseLease', reply, lease)[0]);
  }

  /**
   * Claims envelopes under a lease, as the bytes Redis holds (views into one reply buffer):
   * `next` moves up to `count` from the queue, `resume` returns everything claimed earlier and
   * not committed. `pending` is how many envelopes the consumer holds claimed and not committed
   * (mode `next`): a processing list of another length throws {@link ClaimLostError}. The
   * processor always gives it; left out, nothing is checked (tools and tests that claim by hand).
   */
  async claimBatch(lease: LeaseHold, mode: 'next' | 'resume', count: number, pending?: number): Promise<Buffer[]> {
    this.checkLease('claimBatch', lease);
    this.check('claimBatch', Number.isSafeInteger(count) && count >= 1 && count <= 1_000_000, () => `claim size ${count}`);
    this.check('claimBatch', pending === undefined || (Number.isSafeInteger(pending) && pending >= 0 && pending <= 1_000_000_000), () => `claimed envelopes ${pending}`);
    const { consumer } = lease;
    const reply = await this.commands.claimBatchBuffer(this.keys.queue, this.keys.processing(consumer), this.keys.lease(consumer), lease.token, count, lease.leaseMs, mode, pending ?? '');
    const [code, packed] = reply;
    // In Buffer mode a refusal's message is bytes too.
    const [envelopes] = this.ok('claimBatch', code === ScriptCode.InvalidArgument ? [code, String(packed)] : (reply as Reply), lease);
    return unpackByteStrings(envelopes as Buffer);
  }

  /**
   * Commits a counted batch: its increments, its dead letters, and the removal of exactly its
   * envelopes from the head of the processing list. Returns the orders counted late (into
   * closed windows) and the oldest dead letters dropped to keep the store at `deadLetterMax`. Throws {@link LeaseLostError} or {@link ClaimLostError}, having written
   * nothing, when the lease or the claimed batch is no longer as it was.
   */
  async commitBatch(lease: LeaseHold, batch: BatchCommit, rules: WindowRules, deadLetterMax = DEFAULT_DEAD_LETTER_MAX): Promise<{ late: number; trimmed: number }> {
    this.checkLease('commitBatch', lease);
    if (this.clientChecks) checkCommit(batch, rules, deadLetterMax);
    const { consumer } = lease;
    const first = batch.envelopes[0] ?? Buffer.alloc(0);
    const last = batch.envelopes[batch.envelopes.length - 1] ?? Buffer.alloc(0);
    const k = this.keys;
    const args: Arg[] = [
      k.lease(consumer), k.processing(consumer), k.windows, k.open, k.dirty, k.deadLetters, k.deadIndex, k.deadCounters, k.changes,
      lease.token, lease.leaseMs, k.windowPrefix, rules.windowMs, rules.retentionMs, batch.envelopes.length, first, last,
      deadLetterMax, batch.dead.length,
    ];
    for (const dead of batch.dead) args.push(dead.reason, dead.at, dead.record);
    for (const [start, window] of batch.windows) {
      args.push(start, window.orders, window.fields.size);
      for (const [field, increment] of window.fields) args.push(field, increment);
    }
    const [late, trimmed] = this.ok('commitBatch', await this.commands.commitBatch(...args), lease);
    return { late: Number(late), trimmed: Number(trimmed) };
  }

  /**
   * Puts dead letters' envelopes back on the queue (`head` or `tail`, in the order given) and
   * removes them from the store, in one step: a letter is replayed at most once, whatever runs
   * at the same time. Letters already gone are skipped; letters that cannot be replayed are kept.
   */
  async replayDeadLetters(ids: readonly number[], where: 'head' | 'tail'): Promise<DeadLetterOutcome> {
    this.check('replayDeadLetters', (where === 'head' || where === 'tail') && checkDeadLetterIds(ids), () => `${ids.length} numbers to the ${where}`);
    const k = this.keys;
    const reply = await this.commands.replayDeadLetters(k.deadLetters, k.deadIndex, k.deadCounters, k.queue, where, ...ids);
    return outcome(this.ok('replayDeadLetters', reply));
  }

  /** Deletes the given dead letters that were made before `cutoff` (epoch ms), in one step; younger ones are kept. */
  async purgeDeadLetters(ids: readonly number[], cutoff: number): Promise<DeadLetterOutcome> {
    this.check('purgeDeadLetters', isEpochMs(cutoff) && checkDeadLetterIds(ids), () => `${ids.length} numbers before ${cutoff}`);
    const k = this.keys;
    const reply = await this.commands.purgeDeadLetters(k.deadLetters, k.deadIndex, k.deadCounters, cutoff, ...ids);
    return outcome(this.ok('purgeDeadLetters', reply));
  }

  /**
   * Moves up to `count` dead letters of the earlier format (a list of JSON) into the store, then
   * drops the oldest beyond `deadLetterMax`.
   */
  async migrateDeadLetters(count: number, deadLetterMax: number, now: number): Promise<{ migrated: number; trimmed: number; remaining: number }> {
    this.check('migrateDeadLetters', Number.isSafeInteger(count) && count >= 1 && count <= 1000 && isDeadLetterMax(deadLetterMax) && isEpochMs(now), () => `count ${count}, cap ${deadLetterMax}, now ${now}`);
    const k = this.keys;
    const reply = await this.commands.migrateDeadLetters(k.legacyDead, k.deadLetters, k.deadIndex, k.deadCounters, count, deadLetterMax, now);
    const [migrated, trimmed, remaining] = this.ok('migrateDeadLetters', reply);
    return { migrated: Number(migrated), trimmed: Number(trimmed), remaining: Number(remaining) };
  }

  /** Puts the claimed batches of consumers whose lease expired back at the head of the queue. */
  async recoverConsumers(): Promise<{ consumers: number; envelopes: number }> {
    const reply = await this.commands.recoverConsumers(this.keys.consumers, this.keys.queue, this.keys.processingPrefix, this.keys.leasePrefix);
    const [consumers, envelopes] = this.ok('recoverConsumers', reply);
    return { consumers: Number(consumers), envelopes: Number(envelopes) };
  }

  /**
   * Closes the windows due at `now`, and takes every window changed since the last tick with
   * its counts.
   */
  async tick(now: number, rules: WindowRules): Promise<{ closed: number; changed: ChangedWindow[] }> {
    this.check('tick', isEpochMs(now) && checkRules(rules), () => `now ${now}, ${JSON.stringify(rules)}`);
    const reply = await this.commands.tick(this.keys.open, this.keys.dirty, this.keys.windows, this.keys.changes, this.keys.closedThrough, this.keys.windowPrefix, now, rules.windowMs, rules.graceMs, rules.retentionMs);
    const [closed, ...flat] = this.ok('tick', reply);
    const changed: ChangedWindow[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) changed.push({ start: Number(flat[i]), fields: flat[i + 1] as string[] });
    return { closed: Number(closed), changed };
  }

  /** The reply's values after a success code; a typed error for any other code. */
  private ok(script: string, reply: Reply, lease?: LeaseHold): unknown[] {
    const [code, ...values] = reply;
    if (code === ScriptCode.Ok) return values;
    if (code === ScriptCode.InvalidArgument) throw new ScriptArgumentError(script, String(values[0]));
    throw scriptError(code, { consumer: lease?.consumer });
  }

  private check(script: string, valid: boolean, detail: () => string): void {
    if (this.clientChecks && !valid) throw new ScriptArgumentError(script, detail());
  }

  private checkLease(script: string, lease: LeaseHold): void {
    this.check(script, lease.consumer !== '' && lease.token !== '' && isDuration(lease.leaseMs) && lease.leaseMs >= 1, () => `consumer ${lease.consumer}, lease ${lease.leaseMs} ms`);
  }
}

function isEpochMs(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_EPOCH_MS;
}

function isDuration(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_DURATION_MS;
}

function isDeadLetterMax(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1 && value <= 1_000_000_000;
}

function checkDeadLetterIds(ids: readonly number[]): boolean {
  return ids.length >= 1 && ids.length <= MAX_DEAD_LETTERS_PER_CALL && ids.every((id) => Number.isSafeInteger(id) && id >= 1);
}

function outcome(values: unknown[]): DeadLetterOutcome {
  const numbers = (list: unknown) => (list as unknown[]).map(Number);
  return { done: numbers(values[0]), gone: numbers(values[1]), kept: numbers(values[2]) };
}

function checkRules(rules: WindowRules): boolean {
  return isDuration(rules.windowMs) && rules.windowMs >= 1 && isDuration(rules.graceMs) && isDuration(rules.retentionMs);
}

/** The client's half of the commit script's checks: a batch it would refuse is never sent. */
function checkCommit(batch: BatchCommit, rules: WindowRules, deadLetterMax: number): void {
  const refuse = (detail: string) => {
    throw new ScriptArgumentError('commitBatch', detail);
  };
  if (!checkRules(rules)) refuse(`window rules ${JSON.stringify(rules)}`);
  if (batch.envelopes.length === 0) refuse('an empty batch');
  if (!isDeadLetterMax(deadLetterMax)) refuse(`dead letter cap ${deadLetterMax}`);
  for (const dead of batch.dead) {
    if (!/^\w+$/.test(dead.reason) || !isEpochMs(dead.at) || dead.record.length === 0) refuse(`dead letter ${dead.reason} at ${dead.at}`);
  }
  let entries = batch.dead.length;
  for (const [start, window] of batch.windows) {
    if (!isEpochMs(start) || start % rules.windowMs !== 0) refuse(`window start ${start}`);
    if (window.fields.size === 0) refuse(`window ${start} has no fields`);
    for (const [field, increment] of window.fields) {
      if (field === '' || !Number.isSafeInteger(increment) || increment < 0) refuse(`window ${start}: ${field} += ${increment}`);
    }
    entries += window.orders;
  }
  if (entries > batch.envelopes.length) refuse(`${entries} orders and dead letters from ${batch.envelopes.length} envelopes`);
}
