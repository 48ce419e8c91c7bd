/** The `/metrics` and `/healthz` endpoint of a stage. */
import { type ListenSettings, closeServer, listen } from './http-server.js';
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` on `/metrics` and `health()` on `/healthz` (200 when healthy, else 503).
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  health: () => Promise<{ ok: boolean; [detail: string]: unknown }>;
  /** Settings named when the port cannot be bound. */
  settings?: ListenSettings;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'text/plain', 'method not allowed\n');
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => reply(200, options.registry.contentType, text),
        (error: unknown) => reply(500, 'text/plain', `${(error as Error).message}\n`),
      );
    } else if (path === '/healthz') {
      options.health().then(
        (health) => reply(health.ok ? 200 : 503, 'application/json', JSON.stringify(health)),
        (error: unknown) => reply(503, 'application/json', JSON.stringify({ ok: false, error: (error as Error).message })),
      );
    } else {
      reply(404, 'text/plain', 'not found: try /metrics or /healthz\n');
    }
  });
  const { port } = await listen(server, options.port, options.host, options.settings);
  return { port, close: () => closeServer(server) };
}
