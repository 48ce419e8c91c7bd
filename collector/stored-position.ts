/**
 * What Redis holds of a file's read position, against what the collector last pushed. A push Redis
 * acknowledged can still be undone by a failover to a replica that had not received it, so an
 * open file's position is compared again at every check ({@link checkStoredPosition}), and a
 * drained rotated file is closed only once its position is beyond a failover's reach, held by the
 * master and by every replica it has ({@link positionReplicated}): after the close nothing would
 * look at it again, and the lines of a push undone then would be lost.
 */
import { CremaError } from '../core/errors.js';
import type { RedisClient } from '../core/redis.js';

/**
 * How long one look waits for the replicas. WAIT holds the connection the shard's pushes use, so
 * it is short; a file whose look times out stays open until a later look succeeds.
 */
export const REPLICATION_WAIT_MS = 250;

export interface PositionLook {
  /** The shard's hash of positions. */
  readonly offsetsKey: string;
  readonly fileKey: string;
  /** The position as this collector last pushed it (formatted). */
  readonly pushed: string;
  /** Shown in the error when Redis holds another position. */
  readonly path: string;
}

/**
 * True when the master holds `pushed` and each of its online replicas has acknowledged every write
 * this connection made (`WAIT`); false when a replica did not answer in time. Throws
 * `position_lost` when the master holds another position: an acknowledged push was undone.
 */
export async function positionReplicated(redis: RedisClient, look: PositionLook, waitMs = REPLICATION_WAIT_MS): Promise<boolean> {
  // Each pipeline goes to the node that holds the offsets key (its keyless commands with it), on
  // the connection the pushes went through, which is what WAIT waits for.
  const [stored, role] = unwrap(await redis.pipeline().hget(look.offsetsKey, look.fileKey).role().exec());
  checkStoredPosition(stored, look);
  const replicas = onlineReplicas(role);
  if (replicas === 0) return true;
  const [storedAgain, acknowledged] = unwrap(await redis.pipeline().hget(look.offsetsKey, look.fileKey).call('WAIT', replicas, waitMs).exec());
  checkStoredPosition(storedAgain, look);
  return Number(acknowledged) >= replicas;
}

/** How many replicas `ROLE` lists as online for a master (it lists no others); 0 for a replica. */
function onlineReplicas(role: unknown): number {
  if (!Array.isArray(role) || role[0] !== 'master' || !Array.isArray(role[2])) return 0;
  return role[2].length;
}

/** Throws `position_lost` when Redis holds `stored` for the file, not the position as pushed. */
export function checkStoredPosition(stored: unknown, look: Omit<PositionLook, 'offsetsKey'>): void {
  if (stored !== look.pushed) {
    throw new CremaError(`Redis holds position ${stored ?? 'none'} for file ${look.fileKey} (${look.path}), not ${look.pushed} as pushed: acknowledged pushes were lost (a failover?)`, 'position_lost');
  }
}

function unwrap(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new CremaError('a pipeline was discarded', 'pipeline_discarded');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
