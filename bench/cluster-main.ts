/** `node dist/bench/cluster-main.js` (after `npm run build`): only the Redis Cluster rows of `npm run bench`. */
import { loadConfig } from '../core/settings/index.js';
import { benchCluster, clusterRows } from './cluster.js';

const ORDERS_PER_SHARD = Number(process.env.BENCH_CLUSTER_ORDERS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 3);

async function main(): Promise<void> {
  const result = await benchCluster(ORDERS_PER_SHARD, ROUNDS, loadConfig('up', [], {}).processBatch);
  for (const [measurement, value, note] of clusterRows(result)) process.stdout.write(`${measurement.padEnd(56)} ${value.padStart(16)}  ${note}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
