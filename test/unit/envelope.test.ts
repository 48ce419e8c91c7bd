import { describe, expect, it } from 'vitest';
import { EnvelopeBatch, decodeEnvelopes } from '../../collector/envelope-batch.js';
import { EnvelopeFramer, envelopeId, parseEnvelope } from '../../core/envelope.js';

describe('envelope framing', () => {
  const framer = new EnvelopeFramer('shop-1', '/var/log/"orders" ☕.log', 'abc123.0');

  it('is a JSON header line followed by the raw line', () => {
    const raw = framer.frame(1234, 1_795_304_356_789, '{"customerAgeGrade":"1020"}');
    const [header, line] = raw.split('\n');
    expect(JSON.parse(header!)).toEqual({ v: 2, host: 'shop-1', source: '/var/log/"orders" ☕.log', id: 'abc123.0:1234', ingestedAt: 1_795_304_356_789 });
    expect(line).toBe('{"customerAgeGrade":"1020"}');
    expect(parseEnvelope(raw)).toEqual({
      v: 2,
      host: 'shop-1',
      source: '/var/log/"orders" ☕.log',
      id: envelopeId('abc123.0', 1234),
      ingestedAt: 1_795_304_356_789,
      line: '{"customerAgeGrade":"1020"}',
    });
  });

  it('keeps any bytes of the line as they are', () => {
    const line = 'bin\u0000\u0007\ufffd"\\\u2028\rend';
    expect(parseEnvelope(framer.frame(0, 1, line))?.line).toBe(line);
    expect(parseEnvelope(framer.frame(0, 1, ''))?.line).toBe('');
  });

  it('marks oversize lines with their real length', () => {
    const parsed = parseEnvelope(`${framer.oversizeHeader(10, 1, 2_097_152)}head`);
    expect(parsed).toMatchObject({ oversize: 2_097_152, line: 'head', id: 'abc123.0:10' });
  });

  it('rejects queue elements that are not envelopes', () => {
    for (const raw of ['', 'not json', '{}\nx', '[]\nx', '{"v":2,"id":"a","host":"h","source":"s","ingestedAt":1}', '{"v":1,"id":"a","host":"h","source":"s","ingestedAt":1}\nx', '{"v":2,"id":"a","host":"h","source":"s","ingestedAt":"1"}\nx']) {
      expect(parseEnvelope(raw), raw).toBeUndefined();
    }
  });

  it('writes a batch of envelopes into one buffer as RESP bulk strings, copying line bytes as read', () => {
    const batch = new EnvelopeBatch(16);
    const read = Buffer.from('xx{"a":1}\n\xff\xfeyy', 'latin1');
    batch.addFramed(framer.headBytes, 2, Buffer.from(EnvelopeFramer.tail(5)), read, 2, 9);
    batch.add(framer.header(10, 5), read, 10, 14);
    const encoded = batch.encoded();
    const [first, second] = decodeEnvelopes(encoded.bulks);
    expect(encoded.bulks.subarray(0, 4).toString()).toBe(`$${first!.length}`.slice(0, 4));
    expect(encoded.first).toEqual(first);
    expect(encoded.last).toEqual(second);
    expect(encoded.count).toBe(2);
    expect(first!.toString()).toBe(framer.frame(2, 5, '{"a":1}'));
    expect(parseEnvelope(first!.toString())).toMatchObject({ id: 'abc123.0:2', line: '{"a":1}' });
    expect(second!.subarray(second!.indexOf(10) + 1)).toEqual(Buffer.from([0xff, 0xfe, 0x79, 0x79]));
    expect(batch.count).toBe(2);
  });
});
