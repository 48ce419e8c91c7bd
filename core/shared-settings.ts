/**
 * Settings every stage of a prefix must agree on, kept with the data in one Redis hash
 * (`<prefix>settings`, {@link RedisKeys.settings}).
 *
 * The first processor on a prefix stores them (a collector stores the shard count, which it needs
 * to place files), first writer wins: one `MULTI { HSETNX …; HGETALL }`
 * writes the fields that are not there yet and reads back what is. Every stage then runs with the
 * stored values. A value given explicitly (flag or environment) that differs from the stored one is
 * refused with a {@link SharedSettingsError}; a default is replaced by the stored value. Stages
 * that only read (web, exporter) wait until a processor has stored them.
 *
 * To share one more setting, add it to {@link SHARED_SETTINGS}: its name is
 * the setting's name in the settings table, which gives the variable and flag that messages name.
 */
import { Backoff, sleep } from './backoff.js';
import { type Catalog, catalogHash, catalogJson, parseCatalog } from './catalog.js';
import { ConfigError } from './errors.js';
import type { RedisKeys } from './keys.js';
import type { Logger } from './log.js';
import { type RedisClient, connectRedis } from './redis.js';
import { SETTINGS, type SettingSource, type SettingValues, settingLabel } from './settings/index.js';

/** How one shared setting is kept in the hash. */
interface SharedField<V> {
  /** What users call it. */
  readonly label: string;
  /** The hash fields that hold the value. */
  encode(value: V): Record<string, string>;
  /** The value from the hash; undefined when absent. Throws a message when a field is malformed. */
  decode(fields: Readonly<Record<string, string>>): V | undefined;
  /** Equal values have equal identities. */
  identity(value: V): string;
  /** The value in the units of its setting (seconds for CREMA_WINDOW_SECONDS). */
  show(value: V): string;
  /** How to give the stored value explicitly. @defaultValue `ENV=<shown>` */
  useStored?(shown: string, env: string, key: string): string;
  /** Which stages store it. @defaultValue the first processor */
  readonly storedBy?: string;
  /** How to change the stored value. @defaultValue stop, drain, delete the hash */
  change?(key: string): string;
}

/** A whole number of at least `min` (of `unit`, as stored) in field `field`. */
function wholeNumber(label: string, field: string, min: number, unit: string, show: (n: number) => string): SharedField<number> {
  return {
    label,
    encode: (n) => ({ [field]: String(n) }),
    decode: (fields) => {
      const text = fields[field];
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new Error(`field ${field} is ${JSON.stringify(text)}, not a whole number${unit} of at least ${min}`);
      return n;
    },
    identity: String,
    show,
  };
}

/** A duration kept in ms in field `field`, shown in the setting's unit of `unitMs`. */
function duration(label: string, field: string, unitMs: number, min: number): SharedField<number> {
  return wholeNumber(label, field, min, ' of milliseconds', (ms) => String(ms / unitMs));
}

/** A count in field `field`. */
function count(label: string, field: string, min: number): SharedField<number> {
  return wholeNumber(label, field, min, '', String);
}

const catalogField: SharedField<Catalog> = {
  label: 'catalog',
  encode: (catalog) => ({ catalog: catalogJson(catalog), catalogHash: catalogHash(catalog) }),
  decode: (fields) => {
    if (fields.catalog === undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(fields.catalog);
    } catch {
      throw new Error('field catalog is not JSON');
    }
    const parsed = parseCatalog(raw);
    if ('problems' in parsed) throw new Error(`field catalog: ${parsed.problems.join('; ')}`);
    if (fields.catalogHash !== undefined && fields.catalogHash !== catalogHash(parsed.catalog)) {
      throw new Error(`field catalogHash (${fields.catalogHash}) is not the hash of field catalog (${catalogHash(parsed.catalog)})`);
    }
    return parsed.catalog;
  },
  identity: catalogHash,
  show: catalogHash,
  useStored: (_shown, env, key) => `${env} naming a file with the catalog stored in ${key}: redis-cli HGET ${key} catalog`,
};

/** Every shared setting, by its name in the settings table. */
export const SHARED_SETTINGS = Object.freeze({
  windowMs: duration('window size', 'windowMs', 1000, 1),
  graceMs: duration('grace', 'graceMs', 1000, 0),
  retentionMs: duration('retention', 'retentionMs', 86_400_000, 1),
  catalog: catalogField,
  shards: {
    ...count('shard count', 'shards', 1),
    storedBy: 'the first collector or processor',
    change: () => 'to change it, follow "Changing the shard count" in docs/scaling.md (drain first: file positions and queues live per shard)',
  },
} satisfies { readonly [K in keyof SettingValues]?: SharedField<SettingValues[K]> });

export type SharedName = keyof typeof SHARED_SETTINGS;
export const SHARED_NAMES = Object.freeze(Object.keys(SHARED_SETTINGS) as SharedName[]);

/** The values of the shared settings, as the stages use them. */
export type SharedSettings = Pick<SettingValues, SharedName>;

/** Shared settings a stage was started with (`K`), and whether each was given explicitly. */
export type SharedProposal<K extends SharedName = SharedName> = { readonly [P in K]: { readonly value: SharedSettings[P]; readonly explicit: boolean } };

/** A stage's shared settings `names` from its configuration: explicit unless they are the default. */
export function sharedProposal<K extends SharedName>(
  config: Pick<SharedSettings, K> & { readonly sources: Readonly<Record<K, SettingSource>> },
  names: readonly K[],
): SharedProposal<K> {
  const proposal: Record<string, { value: unknown; explicit: boolean }> = {};
  for (const name of names) proposal[name] = { value: config[name], explicit: config.sources[name] !== 'default' };
  return proposal as SharedProposal<K>;
}

/**
 * A stage cannot run with these shared settings: an explicit value differs from the stored one,
 * or the stored hash is broken. Each problem says how to resolve it.
 */
export class SharedSettingsError extends ConfigError {}

function field<K extends SharedName>(name: K): SharedField<SharedSettings[K]> {
  return SHARED_SETTINGS[name] as SharedField<SharedSettings[K]>;
}

/** Everything the hash holds of the shared settings. Throws a {@link SharedSettingsError} for a malformed field. */
export function decodeShared(fields: Readonly<Record<string, string>>, key: string): Partial<SharedSettings> {
  const decoded: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of SHARED_NAMES) {
    try {
      const value = field(name).decode(fields);
      if (value !== undefined) decoded[name] = value;
    } catch (error) {
      problems.push(`${key}: ${(error as Error).message}. Drain the pipeline and delete ${key} (redis-cli DEL ${key}); the next processor stores its settings again.`);
    }
  }
  if (problems.length > 0) throw new SharedSettingsError(problems);
  return decoded as Partial<SharedSettings>;
}

/** The hash fields of every shared setting. */
export function encodeShared(settings: SharedSettings): Record<string, string> {
  return Object.assign({}, ...SHARED_NAMES.map((name) => field(name).encode(settings[name] as never)));
}

/** The outcome of comparing a stage's settings with the stored ones. */
export interface Reconciled {
  /** What the stage runs with: the stored values. */
  readonly settings: Partial<SharedSettings>;
  /** Defaults of the stage that differ from the stored values, which replace them. */
  readonly adopted: readonly SharedName[];
}

/**
 * Compares a stage's shared settings with the stored ones (which must be complete). Throws a
 * {@link SharedSettingsError} naming every explicit value that differs; defaults give way.
 */
export function reconcileShared(stored: Partial<SharedSettings>, proposal: Partial<SharedProposal>, key: string): Reconciled {
  const problems: string[] = [];
  const adopted: SharedName[] = [];
  for (const name of SHARED_NAMES) {
    const mine = proposal[name];
    if (mine === undefined || stored[name] === undefined) continue;
    const f = field(name);
    if (f.identity(mine.value as never) === f.identity(stored[name] as never)) continue;
    if (!mine.explicit) {
      adopted.push(name);
      continue;
    }
    const s = SETTINGS[name];
    const label = settingLabel(s);
    const theirs = f.show(stored[name] as never);
    const useStored = f.useStored?.(theirs, s.env, key) ?? `${s.env}=${theirs}`;
    problems.push(
      `${label} is ${f.show(mine.value as never)}, but the ${f.label} stored in ${key} by ${f.storedBy ?? 'the first processor'} on this prefix is ${theirs}; every stage of a prefix must agree. ` +
        `Use the stored value (${useStored}, or leave ${s.env} and --${s.flag} unset), or, ${f.change?.(key) ?? `to change it, stop the pipeline, let it drain, and delete ${key} (redis-cli DEL ${key})`}.`,
    );
  }
  if (problems.length > 0) throw new SharedSettingsError(problems);
  return { settings: stored, adopted };
}

/** Shared settings in the units of their settings, for logs: `{ CREMA_WINDOW_SECONDS: '10', … }`. */
export function describeShared(settings: Partial<SharedSettings>, names: readonly SharedName[] = SHARED_NAMES): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const name of names) {
    const value = settings[name];
    if (value !== undefined) shown[SETTINGS[name].env] = field(name).show(value as never);
  }
  return shown;
}

function complete(settings: Partial<SharedSettings>): settings is SharedSettings {
  return SHARED_NAMES.every((name) => settings[name] !== undefined);
}

export interface SharedSettingsOptions {
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly log: Logger;
  /** Aborts the wait for Redis (or for a processor). */
  readonly signal: AbortSignal;
}

/** Retry delays while Redis is unreachable or no processor has stored the settings yet. */
const WAIT_BACKOFF = Object.freeze({ initialMs: 100, maxMs: 2000 });

/**
 * A writer's step (the processor's for every shared setting, the collector's for the shard count):
 * stores the proposed settings under the prefix unless they are there already (first writer wins,
 * in one transaction), then runs with what is stored. Retries while Redis is unreachable; throws a
 * {@link SharedSettingsError} when an explicit setting disagrees.
 */
export async function storeSharedSettings<K extends SharedName = SharedName>(options: SharedSettingsOptions & { readonly proposal: SharedProposal<K> }): Promise<Pick<SharedSettings, K>> {
  const { redis, keys, log, proposal } = options;
  const names = Object.keys(proposal) as K[];
  const mine = Object.fromEntries(names.map((name) => [name, proposal[name].value])) as Pick<SharedSettings, K>;
  const fields = names.flatMap((name) => Object.entries(field(name).encode(mine[name] as never)));
  const { stored, written } = await retrying(options, async () => {
    const multi = redis.multi();
    for (const [name, value] of fields) multi.hsetnx(keys.settings, name, value);
    multi.hgetall(keys.settings);
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    const written = replies.slice(0, -1).some(([, set]) => set === 1);
    return { stored: decodeShared(replies.at(-1)?.[1] as Record<string, string>, keys.settings), written };
  });
  if (!names.every((name) => stored[name] !== undefined)) throw new SharedSettingsError([`${keys.settings} lacks shared settings right after they were stored`]);
  const { adopted } = reconcileShared(stored, proposal as Partial<SharedProposal>, keys.settings);
  const settings = stored as Pick<SharedSettings, K>;
  if (written) log.info({ key: keys.settings, ...describeShared(settings, names) }, 'stored the shared settings of this prefix');
  if (adopted.length > 0) {
    log.info({ key: keys.settings, adopted: describeShared(settings, adopted), defaults: describeShared(mine, adopted) }, 'using the shared settings stored for this prefix instead of the defaults');
  }
  return settings;
}

/**
 * The step of a stage that only reads them: waits until a processor has stored the shared settings
 * (logging once that it waits), then checks the stage's own against them.
 */
export async function waitForSharedSettings(options: SharedSettingsOptions & { readonly proposal?: Partial<SharedProposal> }): Promise<SharedSettings> {
  const { redis, keys, log, signal } = options;
  let waiting = false;
  const backoff = new Backoff(WAIT_BACKOFF);
  for (;;) {
    const stored = await retrying(options, async () => decodeShared(await redis.hgetall(keys.settings), keys.settings));
    if (complete(stored)) {
      const { adopted } = reconcileShared(stored, options.proposal ?? {}, keys.settings);
      const settings = stored;
      log.info({ key: keys.settings, ...describeShared(settings) }, 'read the shared settings of this prefix');
      if (adopted.length > 0) log.info({ adopted: describeShared(settings, adopted) }, 'using the stored shared settings instead of the defaults');
      return settings;
    }
    if (!waiting) log.info({ key: keys.settings }, 'waiting for a processor to store the shared settings');
    waiting = true;
    await sleep(backoff.next(), signal);
    if (signal.aborted) throw abortError();
  }
}

/** Runs `step` once Redis is reachable, retrying with backoff on Redis errors; settings errors end it. */
async function retrying<T>(options: SharedSettingsOptions, step: () => Promise<T>): Promise<T> {
  const { redis, signal, log, keys } = options;
  const backoff = new Backoff(WAIT_BACKOFF);
  let failure: string | undefined;
  for (;;) {
    if (signal.aborted) throw abortError();
    try {
      await connectRedis(redis, signal);
      return await step();
    } catch (error) {
      if (error instanceof SharedSettingsError || signal.aborted) throw signal.aborted ? abortError() : error;
      const message = (error as Error).message;
      if (failure !== message) log.warn({ key: keys.settings, err: message }, 'cannot read the shared settings yet; retrying with backoff');
      failure = message;
      await sleep(backoff.next(), signal);
    }
  }
}

function abortError(): Error {
  return new DOMException('stopped while waiting for the shared settings', 'AbortError');
}
