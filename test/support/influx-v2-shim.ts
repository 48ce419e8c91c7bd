/**
 * TEST-ONLY SHIM. Debian's `influxd` is 1.6.7, older than the `/api/v2/write` compatibility
 * endpoint that InfluxDB 1.8 added. This proxy does for that one server what 1.8 does itself:
 * `POST /api/v2/write?bucket=db/rp&precision=ms` becomes `POST /write?db=db&rp=rp&precision=ms`
 * (the `Authorization: Token user:password` header is dropped: the test server runs without
 * auth). Every other request (`/query`, `/ping`, …) passes through unchanged. It is never used
 * against a real InfluxDB 1.8+, 2.x or 3, nor outside the tests and the benchmark.
 */
import { closeServer, listen } from '../../core/http-server.js';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';

export interface V2WriteShim {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the shim on `127.0.0.1:port` in front of the InfluxDB 1.x HTTP API at `upstreamPort`. */
export async function startV2WriteShim(port: number, upstreamPort: number): Promise<V2WriteShim> {
  const server: Server = createServer((req, res) => forward(req, res, upstreamPort));
  const address = await listen(server, port, '127.0.0.1');
  return {
    port: address.port,
    close: () => closeServer(server),
  };
}

function forward(req: IncomingMessage, res: ServerResponse, upstreamPort: number): void {
  const url = new URL(req.url ?? '/', 'http://shim');
  let path = `${url.pathname}${url.search}`;
  const headers = { ...req.headers };
  const isV2Write = url.pathname === '/api/v2/write';
  if (isV2Write) {
    const [db, rp] = (url.searchParams.get('bucket') ?? '').split('/');
    if (!db) return reply(res, 400, { code: 'invalid', message: 'bucket is required' });
    const query = new URLSearchParams({ db, precision: url.searchParams.get('precision') ?? 'ns' });
    if (rp) query.set('rp', rp);
    path = `/write?${query}`;
    delete headers.authorization;
  }
  const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers }, (answer) => {
    if (isV2Write && (answer.statusCode ?? 500) >= 300) {
      // 1.x answers {"error": "..."}; v2 clients expect {"code", "message"}.
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => (body += chunk));
      answer.on('end', () => {
        let message = body;
        try {
          message = (JSON.parse(body) as { error?: string }).error ?? body;
        } catch {
          // not JSON: pass the text on
        }
        reply(res, answer.statusCode ?? 500, { code: answer.statusCode === 400 ? 'invalid' : 'internal error', message });
      });
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => reply(res, 503, { code: 'unavailable', message: `influxd: ${error.message}` }));
  req.pipe(upstream);
}

function reply(res: ServerResponse, status: number, body: { code: string; message: string }): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
