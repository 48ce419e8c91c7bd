import { describe, expect, it } from 'vitest';
import { allShards, shardOfFile, shardPrefix } from '../../core/shards.js';

describe('shards', () => {
  it('keeps the plain prefix for one shard on one Redis, and tags every shard otherwise', () => {
    expect(shardPrefix('coffee:', 0, 1, false)).toBe('coffee:');
    expect(shardPrefix('coffee:', 0, 1, true)).toBe('{coffee:0}:');
    expect(allShards(3).map((i) => shardPrefix('coffee:', i, 3, false))).toEqual(['{coffee:0}:', '{coffee:1}:', '{coffee:2}:']);
    expect(() => shardPrefix('coffee:', 3, 3, false)).toThrow(RangeError);
    expect(() => shardPrefix('coffee:', -1, 3, false)).toThrow(RangeError);
  });

  it('maps a file to one shard by host and path, the same everywhere, and spreads files evenly', () => {
    // Pinned values (FNV-1a, checked independently): a change here would move files between shards on upgrade.
    expect(shardOfFile('shop-1', '/data/orders.jsonl', 1000)).toBe(228);
    expect(shardOfFile('shop-2', '/data/orders.jsonl', 1000)).toBe(111);
    expect(shardOfFile('', '', 1000)).toBe(541);
    const counts = [0, 0, 0];
    for (let host = 0; host < 300; host++) counts[shardOfFile(`host-${host}`, '/var/log/orders.jsonl', 3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(70);
  });
});
