import { describe, expect, it } from 'vitest';
import { isRotationOf } from '../../collector/rotation-names.js';

const name = 'orders.jsonl';

describe('rotation names', () => {
  it.each([
    'orders.jsonl.1',
    'orders.jsonl.2',
    'orders.jsonl.14',
    'orders.jsonl-20261122',
    'orders.jsonl-2026112210',
    'orders.jsonl-20261122-1795304356',
    'orders.jsonl.20261122',
    'orders.jsonl.2026-11-22',
    'orders.jsonl-2026-11-22',
    'orders.jsonl.2026-11-22T10:15:00',
    'orders.jsonl.2026-11-22T10:15:00Z',
    'orders.jsonl.2026-11-22T10:15:00.123+01:00',
    'orders.jsonl.2026-11-22_10-15-00',
    'orders.jsonl.2026-11-22-10',
    'orders.jsonl.20261122T101500',
    'orders.jsonl.20261122T101500Z',
  ])('%s is a rotation', (entry) => {
    expect(isRotationOf(name, entry)).toBe(true);
  });

  it.each([
    'orders.jsonl',
    'orders.jsonl.backup',
    'orders.jsonl~',
    '.orders.jsonl.swp',
    'orders.jsonl.swp',
    'orders.jsonl.bak',
    'orders.jsonl.tmp',
    'orders.jsonl.1.tmp',
    'orders.jsonl.1~',
    'orders.jsonl.old',
    'orders.jsonl2',
    'orders.jsonl.',
    'orders.jsonl.-1',
    'orders.jsonl-1',
    'orders.jsonl.2026-13-01',
    'orders.jsonl.2026-11-32',
    'orders.jsonl.2026-11-22T25:00',
    'orders.jsonl.2026-1122',
    'orders.jsonl.1.gz',
    'orders.jsonl-20261122.gz',
    'orders.jsonl.2026-11-22.xz',
    'orders.jsonl.20261122T101500.zst',
    'orders.jsonl.2.bz2',
    'other.jsonl.1',
    'xorders.jsonl.1',
  ])('%s is not read', (entry) => {
    expect(isRotationOf(name, entry)).toBe(false);
  });

  it('takes the followed name literally, not as a pattern', () => {
    expect(isRotationOf('a+b.log', 'a+b.log.1')).toBe(true);
    expect(isRotationOf('a+b.log', 'aab.log.1')).toBe(false);
    expect(isRotationOf('a.log', 'aXlog.1')).toBe(false);
  });
});
