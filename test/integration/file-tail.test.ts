/**
 * A tail reads the file it was told about, never another one at the same path: a rotation can put
 * the next file at the path between the stat that named a file and the open that reads it.
 */
import { statSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { identityOf } from '../../collector/file-identity.js';
import { FileTail } from '../../collector/file-tail.js';
import { rotate, tempDir } from '../support/files.js';

const dir = tempDir();
const tails: FileTail[] = [];
afterEach(async () => {
  await Promise.all(tails.splice(0).map((t) => t.close()));
});
process.once('exit', () => dir.remove());

const options = { host: 'h', source: 'orders.jsonl', maxLineBytes: 1024 };
const start = { generation: 0, offset: 0 };

async function linesOf(tail: FileTail): Promise<string[]> {
  const batch = await tail.nextBatch(100, 1);
  return (batch?.envelopes.bulks.toString() ?? '').match(/\{"n":\d+\}/g) ?? [];
}

it('opens the file it names, and refuses the file a rotation put at the path since', async () => {
  const path = dir.file('rotating.jsonl');
  writeFileSync(path, '{"n":1}\n{"n":2}\n');
  const first = identityOf(statSync(path));
  rotate(path);
  writeFileSync(path, '{"n":3}\n');

  expect(await FileTail.open(path, first, start, options)).toBeUndefined();
  const moved = await FileTail.open(`${path}.1`, first, start, options);
  expect(moved).toBeDefined();
  tails.push(moved!);
  expect(moved!.key).not.toBe('');
  expect(await linesOf(moved!)).toEqual(['{"n":1}', '{"n":2}']);
});

it('answers undefined for a file that is gone', async () => {
  const path = dir.file('gone.jsonl');
  writeFileSync(path, '{"n":1}\n');
  const identity = identityOf(statSync(path));
  expect(await FileTail.open(dir.file('never-there.jsonl'), identity, start, options)).toBeUndefined();
});
