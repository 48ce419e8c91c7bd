/**
 * Reads a MessagePack array of byte strings (`str` or `bin` elements), as Redis's `cmsgpack.pack`
 * writes a list of strings: every element a view into the one buffer, nothing copied or decoded.
 * One reply of a batch costs the client far less than one reply element per envelope (measured in
 * `docs/benchmarks.md`).
 */

/** The elements of a packed array of byte strings; throws on anything else. */
export function unpackByteStrings(packed: Buffer): Buffer[] {
  let offset = 0;
  const byte = () => {
    if (offset >= packed.length) throw new Error('packed byte strings end early');
    return packed[offset++]!;
  };
  const uint = (bytes: 1 | 2 | 4) => {
    if (offset + bytes > packed.length) throw new Error('packed byte strings end early');
    const value = bytes === 1 ? packed[offset]! : bytes === 2 ? packed.readUInt16BE(offset) : packed.readUInt32BE(offset);
    offset += bytes;
    return value;
  };
  const head = byte();
  let count: number;
  if (head >= 0x90 && head <= 0x9f) count = head & 0x0f;
  else if (head === 0xdc) count = uint(2);
  else if (head === 0xdd) count = uint(4);
  else throw new Error(`not a MessagePack array (first byte 0x${head.toString(16)})`);
  const out = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    const marker = byte();
    let length: number;
    if (marker >= 0xa0 && marker <= 0xbf) length = marker & 0x1f;
    else if (marker === 0xd9 || marker === 0xc4) length = uint(1);
    else if (marker === 0xda || marker === 0xc5) length = uint(2);
    else if (marker === 0xdb || marker === 0xc6) length = uint(4);
    else throw new Error(`element ${i} is not a byte string (marker 0x${marker.toString(16)})`);
    if (offset + length > packed.length) throw new Error('packed byte strings end early');
    out[i] = packed.subarray(offset, offset + length);
    offset += length;
  }
  if (offset !== packed.length) throw new Error(`${packed.length - offset} bytes after the packed array`);
  return out;
}
