/**
 * The Express application: history API, live stream, health, metrics and the static page.
 * Routes only translate HTTP; reading Redis and relaying the channel live in their own modules.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { basename } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { AlertPayloadError, type AlertBoard } from './alert-board.js';
import { type AlertsEvent, type ApiError, STREAM_EVENTS, type WindowsResponse } from './api-types.js';
import { type WindowHistory, WindowSizeUnknownError } from './history.js';
import { apiRateLimit, cors, securityHeaders } from './security.js';
import type { StreamHub } from './stream-hub.js';
import { QueryError, parseWindowQuery } from './window-query.js';

export interface AppOptions {
  /** For `/healthz`. */
  readonly redis: Redis;
  readonly history: WindowHistory;
  readonly hub: StreamHub;
  readonly publicDir: string;
  readonly corsOrigins: readonly string[];
  readonly apiRateLimit: number;
  /** The firing alerts Alertmanager reports to `POST /api/alerts`. */
  readonly alerts: AlertBoard;
  /** Bearer token `POST /api/alerts` requires; undefined accepts any client. */
  readonly alertsToken?: string | undefined;
  readonly log: Logger;
  readonly metrics: Metrics;
}

const ROUTES = new Set(['/api/windows', '/api/stream', '/api/alerts', '/healthz', '/metrics']);
// Bundles carry a content hash in their names (page-abc123.js), so they never change in place.
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;

export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = ROUTES.has(req.path) ? req.path : req.path.startsWith('/api/') ? 'api_other' : 'static';
      o.metrics.web.requests.inc({ route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(securityHeaders());

  app.get('/healthz', async (_req, res) => {
    const redis = await ping(o.redis);
    const ok = redis && o.hub.subscribed;
    res.status(ok ? 200 : 503).set('cache-control', 'no-store').json({ ok, redis: redis ? 'up' : 'down', subscribed: o.hub.subscribed, streamClients: o.hub.size });
  });
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', o.metrics.registry.contentType).set('cache-control', 'no-store').send(await o.metrics.registry.metrics());
  });

  const api = express.Router();
  if (o.corsOrigins.length > 0) api.use(cors(o.corsOrigins));
  api.use(apiRateLimit(o.apiRateLimit));
  api.get('/windows', async (req, res) => {
    const now = Date.now();
    const query = parseWindowQuery(req.query as Record<string, unknown>, now);
    if (o.redis.status !== 'ready') throw new RedisUnavailable();
    const timer = o.metrics.web.historyDuration.startTimer();
    const page = await o.history.range(query).catch((error: unknown) => {
      throw o.redis.status === 'ready' ? error : new RedisUnavailable();
    });
    timer();
    const body: WindowsResponse = {
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
      limit: query.limit,
      windowMs: page.windowMs,
      truncated: page.truncated,
      windows: page.windows.map((w) => ({ ...w, startTime: new Date(w.start).toISOString(), endTime: new Date(w.end).toISOString() })),
    };
    res.set('cache-control', 'no-store').json(body);
  });
  api.get('/stream', (req, res) => {
    const fromQuery = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
    o.hub.connect(req, res, req.get('last-event-id') ?? fromQuery);
  });
  api.get('/alerts', (_req, res) => {
    res.set('cache-control', 'no-store').json({ alerts: o.alerts.list() } satisfies AlertsEvent);
  });
  api.post('/alerts', express.json({ limit: '1mb' }), (req, res) => {
    if (o.alertsToken !== undefined && !sameSecret(req.get('authorization') ?? '', `Bearer ${o.alertsToken}`)) {
      o.metrics.web.alertNotifications.inc({ result: 'unauthorized' });
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'a bearer token is required (CREMA_ALERTS_TOKEN)' });
      return;
    }
    let changed: boolean;
    try {
      changed = o.alerts.apply(req.body);
    } catch (error) {
      if (!(error instanceof AlertPayloadError)) throw error;
      o.metrics.web.alertNotifications.inc({ result: 'rejected' });
      res.status(400).json({ error: error.message });
      return;
    }
    o.metrics.web.alertNotifications.inc({ result: 'applied' });
    o.metrics.web.alertsFiring.set(o.alerts.size);
    if (changed) {
      const alerts = o.alerts.list();
      o.log.info({ firing: alerts.map((a) => a.name) }, 'alerts changed');
      o.hub.setState(STREAM_EVENTS.alerts, { alerts } satisfies AlertsEvent);
    }
    res.status(200).json({ firing: o.alerts.size });
  });
  api.use((_req, res) => {
    res.status(404).json({ error: 'no such endpoint: try /api/windows, /api/stream or /api/alerts' });
  });
  app.use('/api', api);

  app.use(
    express.static(o.publicDir, {
      index: 'index.html',
      setHeaders: (res, path) => {
        res.setHeader('cache-control', HASHED.test(basename(path)) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const client = error as { status?: unknown; expose?: unknown; message?: unknown };
    if (typeof client.status === 'number' && client.status >= 400 && client.status < 500 && client.expose === true) {
      // The body parser's answers: not JSON (400), too large (413), wrong charset (415).
      res.status(client.status).json({ error: String(client.message) });
    } else if (error instanceof QueryError) {
      res.status(400).json({ error: error.message, parameter: error.parameter });
    } else if (error instanceof RedisUnavailable) {
      res.status(503).set('retry-after', '2').json({ error: 'Redis is unreachable; retry shortly', reason: 'redis_down' } satisfies ApiError);
    } else if (error instanceof WindowSizeUnknownError) {
      res.status(503).set('retry-after', '2').json({ error: error.message, reason: 'no_shared_settings' } satisfies ApiError);
    } else {
      o.log.error({ err: error }, 'request failed');
      o.metrics.errors.inc({ stage: 'web', type: 'request' });
      res.status(500).json({ error: 'internal error' });
    }
  });
  return app;
}

async function ping(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    return (await Promise.race([redis.ping(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])) === 'PONG';
  } catch {
    return false;
  }
}

/** Compares secrets in constant time (hashes first, so lengths do not leak either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Redis is down: the request may succeed later (503), it is not the server's bug (500). */
class RedisUnavailable extends Error {}
