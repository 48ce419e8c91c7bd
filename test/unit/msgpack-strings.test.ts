import { describe, expect, it } from 'vitest';
import { unpackByteStrings } from '../../core/msgpack-strings.js';

describe('unpackByteStrings', () => {
  it('reads every array and string size MessagePack has, as views of the bytes', () => {
    const fix = Buffer.from([0x92, 0xa1, 0x61, 0xc4, 0x02, 0xff, 0x00]);
    expect(unpackByteStrings(fix)).toEqual([Buffer.from('a'), Buffer.from([0xff, 0x00])]);
    const long = Buffer.alloc(70_000, 0x78);
    const array16 = Buffer.concat([Buffer.from([0xdc, 0x00, 0x02, 0xd9, 0x03]), Buffer.from('abc'), Buffer.from([0xdb, 0x00, 0x01, 0x11, 0x70]), long]);
    expect(unpackByteStrings(array16)).toEqual([Buffer.from('abc'), long]);
    expect(unpackByteStrings(Buffer.from([0x90]))).toEqual([]);
  });

  it('refuses what is not an array of byte strings, or is cut short', () => {
    for (const bad of [[0x80], [0x91, 0x01], [0x92, 0xa1, 0x61], [0x91, 0xa3, 0x61], [0x91, 0xa1, 0x61, 0x00], []]) {
      expect(() => unpackByteStrings(Buffer.from(bad)), JSON.stringify(bad)).toThrow();
    }
  });
});
