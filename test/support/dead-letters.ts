/** Reads the dead-letter store for assertions. */
import type { Redis } from 'ioredis';
import { type DeadLetter, decodeDeadLetter } from '../../core/dead-letter.js';
import type { RedisKeys } from '../../core/keys.js';

/** Letters in the store, in number order (the order they were made). */
export async function storedDeadLetters(client: Redis, keys: RedisKeys): Promise<DeadLetter[]> {
  const records = await client.hgetallBuffer(keys.deadLetters);
  return Object.entries(records)
    .map(([id, record]) => {
      const letter = decodeDeadLetter(Number(id), record);
      if (!letter) throw new Error(`dead letter ${id} is not a record: ${record.subarray(0, 200).toString()}`);
      return letter;
    })
    .sort((a, b) => a.id - b.id);
}

/** Letters in the store, counted by the index. */
export async function deadLetterCount(client: Redis, keys: RedisKeys): Promise<number> {
  return client.zcard(keys.deadIndex);
}
