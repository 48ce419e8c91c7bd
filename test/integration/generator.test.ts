/** The generator writes whole, valid lines at its rate, and follows a rotation of its file. */
import { readFileSync, renameSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { createOrderValidator } from '../../core/order.js';
import { Generator } from '../../generator/generator.js';
import { eventually } from '../support/eventually.js';
import { useTestEnvironment } from '../support/fixtures.js';
import { silentLog } from '../support/stages.js';

const env = useTestEnvironment();

const options = (file: string) => ({ file, catalog: DEFAULT_CATALOG, rate: 400, count: 0, seed: 3, orderedAt: true, bulk: false, log: silentLog });
const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

it('appends valid orders at its rate until closed', async () => {
  const file = env.dir.file('out/orders.jsonl');
  const generator = new Generator(options(file));
  const started = Date.now();
  void generator.start();
  await eventually(() => generator.ordersWritten >= 200, { message: 'nothing written' });
  await generator.close();
  const elapsed = (Date.now() - started) / 1000;
  const written = lines(file);
  expect(written.length).toBe(generator.ordersWritten);
  expect(written.length).toBeLessThanOrEqual(Math.ceil(elapsed * 400) + 1);
  const validate = createOrderValidator(DEFAULT_CATALOG);
  for (const line of written) expect(validate(line).ok).toBe(true);
});

it('writes exactly --count orders in bulk mode', async () => {
  const file = env.dir.file('bulk.jsonl');
  await new Generator({ ...options(file), bulk: true, count: 25_000 }).start();
  expect(lines(file)).toHaveLength(25_000);
});

it('reopens its path when the file is rotated away', async () => {
  const file = env.dir.file('orders.jsonl');
  const generator = new Generator(options(file));
  void generator.start();
  await eventually(() => generator.ordersWritten > 50, { message: 'nothing written' });
  renameSync(file, `${file}.1`);
  try {
    await eventually(() => lines(file).length > 0, { timeoutMs: 5000, message: 'the generator did not reopen its path' });
  } finally {
    await generator.close();
  }
  expect(lines(`${file}.1`).length + lines(file).length).toBe(generator.ordersWritten);
});
