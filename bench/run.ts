/**
 * `npm run bench`: throughput and latency of the pipeline on this machine, next to the original
 * design's one-command-per-order baselines and peer tools, in one run against one private Redis.
 * Prints a table and writes bench/results/latest.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCluster, clusterRows } from './cluster.js';
import { benchCollector, benchRpushPerLine } from './collector.js';
import { loadConfig } from '../core/settings/index.js';
import { benchExporter } from './exporter.js';
import { benchLatency } from './latency.js';
import { benchMetricsOverhead, metricUpdateCostUs } from './metrics-overhead.js';
import { benchOutageMemory } from './outage-memory.js';
import { benchRedisBenchmark, benchRsyslog } from './peers.js';
import { benchLpopPerOrder, benchParseAndCount, benchProcessor, frame } from './processor.js';
import { benchReliableQueue } from './reliable-queue.js';
import { benchStream } from './stream.js';
import { round, startLocalRedis, writeOrderFile } from './support.js';

/** The default configuration: the benchmark measures what users run. */
const DEFAULTS = loadConfig('up', [], {});

const SIZES = {
  collectorLines: Number(process.env.BENCH_COLLECTOR_LINES ?? 1_000_000),
  processorOrders: Number(process.env.BENCH_PROCESSOR_ORDERS ?? 500_000),
  baselineOrders: 30_000,
  latencyRate: 5000,
  latencySeconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 15),
  outageLines: 500_000,
  metricsRounds: Number(process.env.BENCH_METRICS_ROUNDS ?? 5),
  clusterOrdersPerShard: Number(process.env.BENCH_CLUSTER_ORDERS ?? 200_000),
  clusterRounds: Number(process.env.BENCH_CLUSTER_ROUNDS ?? 3),
};

type Row = [measurement: string, value: string, note: string];

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'crema-bench-'));
  const redis = await startLocalRedis({ persistent: false });
  const port = Number(new URL(redis.url).port);
  const rows: Row[] = [];
  const results: Record<string, unknown> = { machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, sizes: SIZES };
  const log = (row: Row) => {
    rows.push(row);
    process.stdout.write(`${row[0].padEnd(52)} ${row[1].padStart(14)}  ${row[2]}\n`);
  };
  try {
    const file = join(work, 'orders.jsonl');
    const bytes = await writeOrderFile(file, SIZES.collectorLines);

    const collector = await benchCollector(redis.url, file, SIZES.collectorLines);
    results.collector = collector;
    log(['collector: file → queue, exactly once (lines/s)', round(collector.linesPerSecond).toLocaleString('en'), `${SIZES.collectorLines.toLocaleString('en')} lines, ${round(bytes / 2 ** 20)} MiB, batches of ${DEFAULTS.collectBatch.toLocaleString('en')}, 4 in flight`]);

    // Read only now: half a million strings in the heap would slow the collector's garbage collection.
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, SIZES.processorOrders);
    const rpush = await benchRpushPerLine(redis.url, lines.slice(0, SIZES.baselineOrders));
    results.rpushPerLine = rpush;
    log(['baseline: one RPUSH per line (lines/s)', round(rpush.linesPerSecond).toLocaleString('en'), 'the original sink, one awaited command per line']);

    const ceiling = await benchRedisBenchmark(port);
    results.redisBenchmark = ceiling;
    log(['redis-benchmark RPUSH ceiling (requests/s)', ceiling ? round(ceiling.rpushPerSecond).toLocaleString('en') : 'n/a', '1 element per RPUSH, pipeline 1,000, 250-byte values']);

    const rsyslog = await benchRsyslog(redis.url, file, SIZES.collectorLines, join(work, 'rsyslog'));
    results.rsyslog = rsyslog ?? 'not installed (apt-get install rsyslog rsyslog-hiredis)';
    log(['peer: rsyslog imfile → omhiredis (lines/s)', rsyslog ? round(rsyslog.linesPerSecond).toLocaleString('en') : 'n/a', rsyslog ? 'same file, private rsyslogd' : 'rsyslog-hiredis not installed']);

    const envelopes = frame(lines);
    const processor = await benchProcessor(redis.url, envelopes, DEFAULTS.processBatch);
    results.processor = processor;
    log(['processor: queue → committed windows (orders/s)', round(processor.ordersPerSecond).toLocaleString('en'), `${envelopes.length.toLocaleString('en')} orders, batches of ${DEFAULTS.processBatch.toLocaleString('en')}, prefetched claim + fenced commit`]);

    const peer = await benchReliableQueue(redis.url, envelopes, DEFAULTS.processBatch, 10_000);
    results.reliableQueuePeer = peer;
    log(['peer: minimal reliable-queue consumer (orders/s)', round(peer.ordersPerSecond).toLocaleString('en'), `the ceiling for one shard: one Lua call per batch acks the last and fetches the next; parse + count, no validation (processor ${round(processor.ordersPerSecond / peer.ordersPerSecond, 2)}×)`]);

    const lpop = await benchLpopPerOrder(redis.url, envelopes.slice(0, SIZES.baselineOrders));
    results.lpopPerOrder = lpop;
    log(['baseline: one LPOP + HINCRBYs per order (orders/s)', round(lpop.ordersPerSecond).toLocaleString('en'), 'the original spout and bolt, one awaited command at a time']);

    const cpu = benchParseAndCount(envelopes.slice(0, 200_000), lines.slice(0, 200_000));
    results.cpu = cpu;
    log(['parse + validate + count in memory (orders/s)', round(cpu.parseAndCountPerSecond).toLocaleString('en'), 'the processor without Redis']);
    log(['validate: hand-written schema (lines/s)', round(cpu.validateHandWrittenPerSecond).toLocaleString('en'), 'JSON.parse included']);
    log(['validate: the same schema in zod (lines/s)', round(cpu.validateZodPerSecond).toLocaleString('en'), 'JSON.parse included']);

    const latency = await benchLatency(redis.url, join(work, 'latency.jsonl'), SIZES.latencyRate, SIZES.latencySeconds);
    results.latency = latency;
    log([`append → committed latency at ${SIZES.latencyRate.toLocaleString('en')}/s: p50 (ms)`, String(round(latency.p50Ms, 1)), 'collector and processor as separate processes']);
    log([`append → committed latency at ${SIZES.latencyRate.toLocaleString('en')}/s: p99 (ms)`, String(round(latency.p99Ms, 1)), `max ${round(latency.maxMs, 1)} ms over ${latency.orders.toLocaleString('en')} orders`]);

    const overhead = await benchMetricsOverhead(redis.url, file, SIZES.collectorLines, lines, SIZES.metricsRounds);
    const updateCost = metricUpdateCostUs();
    results.metricsOverhead = { ...overhead, updateCostUs: updateCost };
    for (const [stage, r] of Object.entries(overhead)) {
      const change = round((r.ratio - 1) * 100, 1);
      log([`${stage}: metrics on vs off (change of median)`, `${change >= 0 ? '+' : ''}${change} %`, `${round(r.on).toLocaleString('en')} vs ${round(r.off).toLocaleString('en')}/s, medians of ${SIZES.metricsRounds} alternating runs, scraped every 1 s`]);
    }
    log(['metric updates per committed batch (µs)', `${round(updateCost.collectorBatch, 2)} / ${round(updateCost.processorBatch, 2)}`, 'collector / processor, alone in a loop']);

    const outage = await benchOutageMemory(join(work, 'outage.jsonl'), SIZES.outageLines);
    results.outageMemory = outage;
    log(['collector RSS while Redis is down (MiB)', `${round(outage.rssBeforeMiB)} → ${round(outage.rssPeakDuringOutageMiB)}`, `before → peak while ${outage.linesWrittenDuringOutage.toLocaleString('en')} lines were appended`]);
  } finally {
    await redis.dispose();
    rmSync(work, { recursive: true, force: true });
  }

  // On servers of their own.
  const cluster = await benchCluster(SIZES.clusterOrdersPerShard, SIZES.clusterRounds, DEFAULTS.processBatch);
  results.cluster = cluster;
  for (const row of clusterRows(cluster)) log(row);

  const exporter = await benchExporter();
  results.exporter = exporter;
  log(['exporter: window points into InfluxDB (points/s)', round(exporter.pointsPerSecond).toLocaleString('en'), 'a backlog of closed windows, from the changes stream']);
  log(['exporter: window close → visible in InfluxDB p50/p99 (ms)', `${round(exporter.closeToVisibleMs.p50)} / ${round(exporter.closeToVisibleMs.p99)}`, 'final point queryable with InfluxQL']);

  const stream = await benchStream();
  results.stream = stream;
  log([`stream: ${stream.clients.toLocaleString('en')} SSE clients, PUBLISH → client p99 (ms)`, String(round(stream.p99Ms, 1)), stream.deliveredAll ? 'every client got every update, in order' : 'SOME UPDATES WERE NOT DELIVERED']);
  log(['stream: server memory per client (KiB)', String(round(stream.memoryPerClientKb, 1)), 'resident memory of crema serve, per connection']);
  mkdirSync(new URL('../../bench/results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../../bench/results/latest.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results, rows }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
