import { describe, expect, it } from 'vitest';
import { EnvelopeFramer, envelopeId, parseEnvelope } from '../../core/envelope.js';

describe('envelope framing', () => {
  const framer = new EnvelopeFramer('shop-1', '/var/log/"orders".log', 'abc123.0');

  it('frames a line into valid JSON that parses back', () => {
    const raw = framer.frame(1234, 1_795_304_356_789, '{"customerAgeGrade":"1020"}');
    expect(JSON.parse(raw)).toEqual({
      v: 1,
      host: 'shop-1',
      source: '/var/log/"orders".log',
      id: 'abc123.0:1234',
      ingestedAt: 1_795_304_356_789,
      line: '{"customerAgeGrade":"1020"}',
    });
    expect(parseEnvelope(raw)?.id).toBe(envelopeId('abc123.0', 1234));
  });

  it('keeps any bytes of the line, escaped', () => {
    const line = 'bin\u0000\u0007\ufffd"\\\n\u2028end';
    const parsed = parseEnvelope(framer.frame(0, 1, line));
    expect(parsed?.line).toBe(line);
  });

  it('marks oversize lines with their real length', () => {
    const parsed = parseEnvelope(framer.frameOversize(10, 1, 'head…', 2_097_152));
    expect(parsed).toMatchObject({ oversize: 2_097_152, line: 'head…', id: 'abc123.0:10' });
  });

  it('rejects queue elements that are not envelopes', () => {
    for (const raw of ['', 'not json', '{}', '[]', '{"v":2,"id":"a","host":"h","source":"s","ingestedAt":1,"line":""}', '{"v":1,"id":"a","host":"h","source":"s","ingestedAt":"1","line":""}']) {
      expect(parseEnvelope(raw), raw).toBeUndefined();
    }
  });
});
