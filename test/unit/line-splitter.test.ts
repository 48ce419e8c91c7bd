import { describe, expect, it } from 'vitest';
import { type LineSink, LineSplitter, OVERSIZE_HEAD_BYTES } from '../../collector/line-splitter.js';

type Event = { kind: 'line'; offset: number; text: string } | { kind: 'oversize'; offset: number; head: string; bytes: number };

function recorder(): { sink: LineSink; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      line: (offset, buffer, start, end) => events.push({ kind: 'line', offset, text: buffer.toString('utf8', start, end) }),
      oversize: (offset, head, bytes) => events.push({ kind: 'oversize', offset, head: head.toString(), bytes }),
    },
  };
}

/** Feeds `chunks` as successive reads and drains after each. */
function feed(splitter: LineSplitter, sink: LineSink, chunks: (string | Buffer)[]): void {
  for (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let done = 0;
    while (done < bytes.length) {
      const room = splitter.prepareRead();
      const n = Math.min(room.length, bytes.length - done);
      bytes.copy(room.buffer, room.at, done, done + n);
      splitter.commitRead(n);
      done += n;
      while (splitter.drain(sink, 1000) > 0);
    }
  }
}

describe('LineSplitter', () => {
  it('emits whole lines with their byte offsets and holds back a partial line', () => {
    const splitter = new LineSplitter(100, 500);
    const { sink, events } = recorder();
    feed(splitter, sink, ['ab\ncé\nhal', 'f']);
    expect(events).toEqual([
      { kind: 'line', offset: 500, text: 'ab' },
      { kind: 'line', offset: 503, text: 'cé' },
    ]);
    expect(splitter.consumedOffset).toBe(507);
    feed(splitter, sink, ['\r\n']);
    expect(events.at(-1)).toEqual({ kind: 'line', offset: 507, text: 'half' });
    expect(splitter.consumedOffset).toBe(513);
  });

  it('keeps empty lines, so that they are reported rather than lost', () => {
    const splitter = new LineSplitter(100, 0);
    const { sink, events } = recorder();
    feed(splitter, sink, ['\n\nx\n']);
    expect(events.map((e) => (e.kind === 'line' ? e.text : '?'))).toEqual(['', '', 'x']);
  });

  it('reports a line over the maximum with its head and length, without holding it', () => {
    const splitter = new LineSplitter(64, 0, 16);
    const { sink, events } = recorder();
    const long = 'x'.repeat(10_000);
    feed(splitter, sink, ['ok\n', long.slice(0, 3000), long.slice(3000), '\nnext\n']);
    expect(events).toEqual([
      { kind: 'line', offset: 0, text: 'ok' },
      { kind: 'oversize', offset: 3, head: expect.stringMatching(/^x{64,}$/), bytes: 10_000 },
      { kind: 'line', offset: 10_004, text: 'next' },
    ]);
    const head = (events[1] as { head: string }).head;
    expect(head.length).toBeLessThanOrEqual(OVERSIZE_HEAD_BYTES);
  });

  it('reports an oversize line that arrives whole in one read', () => {
    const splitter = new LineSplitter(64, 0);
    const { sink, events } = recorder();
    feed(splitter, sink, [`${'y'.repeat(65)}\n${'z'.repeat(64)}\n`]);
    expect(events[0]).toMatchObject({ kind: 'oversize', offset: 0, bytes: 65 });
    expect(events[1]).toEqual({ kind: 'line', offset: 66, text: 'z'.repeat(64) });
  });

  it('does not advance its consumed offset past an oversize line still being skipped', () => {
    const splitter = new LineSplitter(64, 0, 16);
    const { sink } = recorder();
    feed(splitter, sink, ['a\n', 'b'.repeat(200)]);
    expect(splitter.consumedOffset).toBe(2);
  });

  it('limits how many lines one drain emits', () => {
    const splitter = new LineSplitter(64, 0);
    const { sink, events } = recorder();
    const room = splitter.prepareRead();
    const n = room.buffer.write('1\n2\n3\n', room.at);
    splitter.commitRead(n);
    expect(splitter.drain(sink, 2)).toBe(2);
    expect(splitter.drain(sink, 2)).toBe(1);
    expect(events).toHaveLength(3);
  });
});
