/**
 * A worker thread of the stream benchmark: holds its share of the SSE clients, so that reading
 * 1,000 sockets is spread over threads instead of queueing behind one event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WindowSnapshot } from '../core/window-snapshot.js';
import { SseTestClient } from '../test/support/sse.js';

export interface ClientsWorkerData {
  readonly url: string;
  readonly count: number;
}

/** From the benchmark: report once every client has `messages` windows of `start` (or time is up). */
export interface CollectRequest {
  readonly start: number;
  readonly messages: number;
  readonly timeoutMs: number;
}

/** Per client: the `orders` of each window received (the publish sequence) and when, epoch ms. */
export interface ClientsReport {
  readonly clients: { seqs: number[]; arrivedAt: number[]; ended: boolean }[];
}

async function main(): Promise<void> {
  const { url, count } = workerData as ClientsWorkerData;
  const port = parentPort!;
  const clients: SseTestClient[] = [];
  for (let i = 0; i < count; i++) {
    clients.push(new SseTestClient(url));
    // Connect in small bursts, as real pages would arrive, not as a SYN flood.
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  while (!clients.every((c) => c.named('hello').length > 0)) await new Promise((resolve) => setTimeout(resolve, 20));
  port.postMessage({ ready: true });
  port.on('message', async (request: CollectRequest) => {
    const windows = (c: SseTestClient) => c.named('window').map((e) => ({ w: JSON.parse(e.data) as WindowSnapshot, at: performance.timeOrigin + e.receivedAt }));
    const deadline = Date.now() + request.timeoutMs;
    while (Date.now() < deadline && !clients.every((c) => c.named('window').length >= request.messages)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const report: ClientsReport = {
      clients: clients.map((c) => {
        const mine = windows(c).filter((x) => x.w.start === request.start);
        return { seqs: mine.map((x) => x.w.orders), arrivedAt: mine.map((x) => x.at), ended: c.ended };
      }),
    };
    for (const c of clients) c.close();
    port.postMessage(report);
  });
}

await main();
