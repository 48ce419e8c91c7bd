/**
 * The peer the processor is held against on one shard: the smallest at-least-once reliable-queue
 * consumer. One Lua call per batch acknowledges the previous batch (adds its counts, drops it from
 * the processing list) and moves the next batch from the queue to the processing list; the client
 * parses and counts, without validation, leases, fencing, dead letters or window bookkeeping.
 * Whatever the processor does beyond this is what exactly-once and validation cost.
 */
import { Redis } from 'ioredis';
import { benchKeys, waitUntil } from './support.js';

const ACK_AND_FETCH = `
-- KEYS[1] queue, KEYS[2] processing; ARGV[1] previous batch size, ARGV[2] next batch size,
-- then per counted window: its hash key, the number of pairs P, P pairs (field, increment)
local i = 3
while i <= #ARGV do
  local key, pairs = ARGV[i], tonumber(ARGV[i + 1])
  for j = i + 2, i + 1 + 2 * pairs, 2 do
    redis.call('HINCRBY', key, ARGV[j], ARGV[j + 1])
  end
  i = i + 2 + 2 * pairs
end
if tonumber(ARGV[1]) > 0 then
  redis.call('LTRIM', KEYS[2], ARGV[1], -1)
end
local items = redis.call('LPOP', KEYS[1], ARGV[2])
if not items then
  return {}
end
redis.call('RPUSH', KEYS[2], unpack(items))
return items
`;

interface Order {
  readonly customerAgeGrade: string;
  readonly paymentMethod: string;
  readonly orders: readonly string[];
}

/** Drains `envelopes` from a queue with the minimal consumer; returns its rate. */
export async function benchReliableQueue(url: string, envelopes: readonly string[], batchSize: number, windowMs: number): Promise<{ ordersPerSecond: number }> {
  const keys = benchKeys();
  const processing = keys.processing('peer');
  const redis = new Redis(url);
  for (let i = 0; i < envelopes.length; i += 5000) await redis.rpush(keys.queue, ...envelopes.slice(i, i + 5000));
  const started = performance.now();
  let previous = 0;
  let counts = new Map<string, Map<string, number>>();
  let counted = 0;
  for (;;) {
    const args: (string | number)[] = [previous, batchSize];
    for (const [key, fields] of counts) {
      args.push(key, fields.size);
      for (const [field, n] of fields) args.push(field, n);
    }
    const batch = (await redis.eval(ACK_AND_FETCH, 2, keys.queue, processing, ...args)) as string[];
    if (batch.length === 0) break;
    counts = new Map();
    for (const envelope of batch) {
      const newline = envelope.indexOf('\n');
      const { ingestedAt } = JSON.parse(envelope.slice(0, newline)) as { ingestedAt: number };
      const order = JSON.parse(envelope.slice(newline + 1)) as Order;
      const key = keys.window(Math.floor(ingestedAt / windowMs) * windowMs);
      let fields = counts.get(key);
      if (!fields) counts.set(key, (fields = new Map()));
      const add = (field: string, n: number) => fields!.set(field, (fields!.get(field) ?? 0) + n);
      add('orders', 1);
      add('drinks', order.orders.length);
      add(`age:${order.customerAgeGrade}`, 1);
      add(`payment:${order.paymentMethod}`, 1);
      for (const coffee of order.orders) add(`coffee:${coffee}`, 1);
    }
    counted += batch.length;
    previous = batch.length;
  }
  const seconds = (performance.now() - started) / 1000;
  await waitUntil(async () => (await redis.llen(processing)) === 0, 10_000);
  if (counted !== envelopes.length) throw new Error(`the reliable-queue peer consumed ${counted} of ${envelopes.length}`);
  const windows = await redis.keys(`${keys.windowPrefix}*`);
  if (windows.length > 0) await redis.unlink(...windows);
  redis.disconnect();
  return { ordersPerSecond: envelopes.length / seconds };
}
