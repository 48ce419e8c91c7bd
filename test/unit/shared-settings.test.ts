/** The pure parts of the shared settings: how they are kept in the hash, and how a stage's own are compared. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, catalogHash } from '../../core/catalog.js';
import { loadConfig } from '../../core/settings/index.js';
import {
  SHARED_NAMES,
  type SharedSettings,
  SharedSettingsError,
  decodeShared,
  describeShared,
  encodeShared,
  reconcileShared,
  sharedProposal,
} from '../../core/shared-settings.js';

const KEY = 'coffee:settings';
const stored: SharedSettings = { windowMs: 10_000, graceMs: 5000, retentionMs: 7 * 86_400_000, catalog: DEFAULT_CATALOG, shards: 1 };

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof SharedSettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a SharedSettingsError');
}

describe('shared settings', () => {
  it('are the window size, grace, retention, catalog and shard count', () => {
    expect(SHARED_NAMES).toEqual(['windowMs', 'graceMs', 'retentionMs', 'catalog', 'shards']);
  });

  it('read back from the hash as they were written', () => {
    const fields = encodeShared(stored);
    expect(fields).toMatchObject({ windowMs: '10000', graceMs: '5000', retentionMs: '604800000', catalogHash: catalogHash(DEFAULT_CATALOG) });
    expect(decodeShared(fields, KEY)).toEqual(stored);
    expect(decodeShared({}, KEY)).toEqual({});
    expect(decodeShared({ windowMs: '2000' }, KEY)).toEqual({ windowMs: 2000 });
  });

  it('name the key and the field when the hash is broken, and say how to repair it', () => {
    const fields = encodeShared(stored);
    const found = problems(() => decodeShared({ ...fields, windowMs: '10 s', catalog: '{"coffeeTypes":[]}' }, KEY));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^coffee:settings: field windowMs is "10 s", not a whole number of milliseconds/);
    expect(found[0]).toContain('redis-cli DEL coffee:settings');
    expect(found[1]).toMatch(/^coffee:settings: field catalog: /);
    expect(problems(() => decodeShared({ ...fields, catalogHash: 'sha256:0' }, KEY))[0]).toMatch(/catalogHash .* is not the hash of field catalog/);
  });

  it('give way when a stage has only defaults, and say which it adopted', () => {
    const config = loadConfig('process', [], {});
    const { settings, adopted } = reconcileShared(stored, sharedProposal(config, SHARED_NAMES), KEY);
    expect(settings).toEqual(stored);
    expect(adopted).toEqual(['graceMs']);
    expect(describeShared(settings, adopted)).toEqual({ CREMA_GRACE_SECONDS: '5' });
  });

  it('refuse a different explicit value, naming both values, the setting, the key and the ways out', () => {
    const config = loadConfig('process', ['--window-seconds', '60', '--retention-days', '7'], { CREMA_GRACE_SECONDS: '5' });
    const found = problems(() => reconcileShared(stored, sharedProposal(config, SHARED_NAMES), KEY));
    expect(found).toEqual([
      'CREMA_WINDOW_SECONDS (--window-seconds) is 60, but the window size stored in coffee:settings by the first processor on this prefix is 10; every stage of a prefix must agree. ' +
        'Use the stored value (CREMA_WINDOW_SECONDS=10, or leave CREMA_WINDOW_SECONDS and --window-seconds unset), or, to change it, stop the pipeline, let it drain, and delete coffee:settings (redis-cli DEL coffee:settings).',
    ]);
  });

  it('accept equal explicit values, and a catalog with the same values in another order', () => {
    const reordered = { ...DEFAULT_CATALOG, paymentMethods: [...DEFAULT_CATALOG.paymentMethods].reverse() };
    expect(catalogHash(reordered)).toBe(catalogHash(DEFAULT_CATALOG));
    const proposal = {
      windowMs: { value: 10_000, explicit: true },
      catalog: { value: reordered, explicit: true },
    };
    expect(reconcileShared(stored, proposal, KEY).adopted).toEqual([]);
    const other = { ...DEFAULT_CATALOG, coffeeTypes: ['Tea'] };
    const [problem] = problems(() => reconcileShared(stored, { catalog: { value: other, explicit: true } }, KEY));
    expect(problem).toMatch(/^CREMA_CATALOG_FILE \(--catalog-file\) is sha256:[0-9a-f]{64}, but the catalog stored in coffee:settings/);
    expect(problem).toContain('Use the stored value (CREMA_CATALOG_FILE naming a file with the catalog stored in coffee:settings: redis-cli HGET coffee:settings catalog, or leave');
  });

  it('come from a stage configuration with their sources', () => {
    const proposal = sharedProposal(loadConfig('process', ['--window-seconds', '5'], {}), SHARED_NAMES);
    expect(proposal.windowMs).toEqual({ value: 5000, explicit: true });
    expect(proposal.graceMs).toEqual({ value: 5000, explicit: false });
    expect(proposal.catalog).toEqual({ value: DEFAULT_CATALOG, explicit: false });
  });
});
