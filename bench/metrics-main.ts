/** `npm run bench:metrics`: only the metrics-on-versus-off measurement, on a private Redis. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchMetricsOverhead, metricUpdateCostUs } from './metrics-overhead.js';
import { round, startLocalRedis, writeOrderFile } from './support.js';

const LINES = Number(process.env.BENCH_METRICS_LINES ?? 300_000);
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 5);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'crema-bench-'));
  const redis = await startLocalRedis({ persistent: false });
  try {
    const file = join(work, 'orders.jsonl');
    await writeOrderFile(file, LINES);
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, LINES);
    const result = await benchMetricsOverhead(redis.url, file, LINES, lines, ROUNDS);
    const cost = metricUpdateCostUs();
    for (const [stage, r] of Object.entries(result)) {
      const change = round((r.ratio - 1) * 100, 1);
      process.stdout.write(
        `${stage.padEnd(10)} metrics on ${round(r.on).toLocaleString('en')}/s, off ${round(r.off).toLocaleString('en')}/s: ${change >= 0 ? '+' : ''}${change} % ` +
          `(medians of ${ROUNDS}; on ${r.runsOn.map((v) => round(v)).join(', ')}; off ${r.runsOff.map((v) => round(v)).join(', ')})\n`,
      );
    }
    process.stdout.write(`metric updates per committed batch: collector ${round(cost.collectorBatch, 2)} µs, processor ${round(cost.processorBatch, 2)} µs\n`);
    mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('../../bench/results/metrics-overhead.json', import.meta.url),
      `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, lines: LINES, rounds: ROUNDS, ...result, updateCostUs: cost }, null, 2)}\n`,
    );
  } finally {
    await redis.dispose();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
