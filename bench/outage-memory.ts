/** Collector memory while Redis is down and the file keeps growing: it must stay flat. */
import { appendFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_CATALOG } from '../core/catalog.js';
import { OrderFactory } from '../generator/orders.js';
import { spawnCrema, stop } from './processes.js';
import { type RedisServer, benchKeys, rssMiB, startLocalRedis } from './support.js';

export async function benchOutageMemory(file: string, linesDuringOutage: number) {
  const server: RedisServer = await startLocalRedis({ persistent: false });
  const keys = benchKeys();
  writeFileSync(file, '');
  const collector = spawnCrema('collect', ['--redis-url', server.url, '--prefix', keys.prefix, '--file', file]);
  await new Promise((r) => setTimeout(r, 1500));
  const before = await rssMiB(collector.pid);
  await server.stop();
  const factory = new OrderFactory(DEFAULT_CATALOG, 9);
  let peak = before;
  for (let written = 0; written < linesDuringOutage; written += 50_000) {
    let text = '';
    for (let i = 0; i < 50_000; i++) text += `${factory.line()}\n`;
    appendFileSync(file, text);
    peak = Math.max(peak, await rssMiB(collector.pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < 20; i++) {
    peak = Math.max(peak, await rssMiB(collector.pid));
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop(collector, 'SIGKILL');
  await server.dispose();
  return { rssBeforeMiB: before, rssPeakDuringOutageMiB: peak, linesWrittenDuringOutage: linesDuringOutage };
}
