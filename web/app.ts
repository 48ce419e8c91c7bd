/**
 * The Express application: history API, live stream, health, metrics and the static page.
 * Routes only translate HTTP; reading Redis and relaying the channel live in their own modules.
 */
import { basename } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { RedisClient } from '../core/redis.js';
import { isAnswering } from '../core/redis.js';
import type { Logger } from '../core/log.js';
import type { TrustProxy } from '../core/network.js';
import type { Metrics } from '../core/metrics.js';
import { ALERT_TEXT_LIMITS, type AlertBoard, AlertPayloadError, type AppliedNotification, MAX_FIRING_ALERTS } from './alert-board.js';
import { type AlertsEvent, type ApiError, STREAM_EVENTS, type WindowsResponse } from './api-types.js';
import { type WindowHistory, WindowSizeUnknownError } from './history.js';
import { apiRateLimit, cors, hasBearer, securityHeaders } from './security.js';
import type { StreamHub } from './stream-hub.js';
import { QueryError, parseWindowQuery } from './window-query.js';

export interface AppOptions {
  /** For `/healthz`. */
  readonly redis: RedisClient;
  readonly history: WindowHistory;
  readonly hub: StreamHub;
  readonly publicDir: string;
  readonly corsOrigins: readonly string[];
  readonly apiRateLimit: number;
  /** The firing alerts Alertmanager reports to `POST /api/alerts`. */
  readonly alerts: AlertBoard;
  /** Bearer token `POST /api/alerts` requires; undefined accepts any client. */
  readonly alertsToken?: string | undefined;
  /** Whether `/metrics` is served on this port. @defaultValue 'on' */
  readonly metricsEndpoint?: 'on' | 'off';
  /** Bearer token `/metrics` requires; undefined serves it to anyone. */
  readonly metricsToken?: string | undefined;
  /** Express's `trust proxy`: whose X-Forwarded-For and X-Forwarded-Proto count. @defaultValue false */
  readonly trustProxy?: TrustProxy;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * Largest alerts notification read. Alertmanager posts one per alert group; 1 MB holds several
 * hundred alerts with their labels and annotations, more than the page shows.
 */
const ALERTS_BODY_LIMIT = '1mb';
const ROUTES = new Set(['/api/windows', '/api/stream', '/api/alerts', '/healthz', '/metrics']);
// Bundles carry a content hash in their names (page-abc123.js), so they never change in place.
const HASHED = /-[A-Z0-9]{8}\.(js|css)$/;

/**
 * The last handler of a known route: 405 with the route's methods in `Allow` (204 for OPTIONS),
 * rather than the 404 Express would send.
 */
function otherMethods(methods: readonly string[]): RequestHandler {
  const allow = methods.join(', ');
  return (req, res) => {
    res.set('allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    res.status(405).json({ error: `method ${req.method} not allowed on ${req.baseUrl}${req.path}; allowed: ${allow}` });
  };
}
const READ = ['GET', 'HEAD'];

export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Arrays are copied: Express compiles the setting and must not see later changes.
  app.set('trust proxy', Array.isArray(o.trustProxy) ? [...o.trustProxy] : (o.trustProxy ?? false));
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = ROUTES.has(req.path) ? req.path : req.path.startsWith('/api/') ? 'api_other' : 'static';
      o.metrics.web.requests.inc({ route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(securityHeaders());

  app
    .route('/healthz')
    .get(async (_req, res) => {
      const redis = await ping(o.redis);
      const ok = redis && o.hub.subscribed;
      res.status(ok ? 200 : 503).set('cache-control', 'no-store').json({ ok, redis: redis ? 'up' : 'down', subscribed: o.hub.subscribed, streamClients: o.hub.size });
    })
    .all(otherMethods(READ));
  if ((o.metricsEndpoint ?? 'on') === 'on') {
    app
      .route('/metrics')
      .get(async (req, res) => {
        if (o.metricsToken !== undefined && !hasBearer(req, o.metricsToken)) {
          res.status(401).set('www-authenticate', 'Bearer').json({ error: 'a bearer token is required (CREMA_WEB_METRICS_TOKEN)' });
          return;
        }
        res.set('content-type', o.metrics.registry.contentType).set('cache-control', 'no-store').send(await o.metrics.registry.metrics());
      })
      .all(otherMethods(READ));
  } else {
    app.all('/metrics', (_req, res) => {
      res.status(404).json({ error: 'metrics are turned off on this port (CREMA_WEB_METRICS)' });
    });
  }

  const api = express.Router();
  if (o.corsOrigins.length > 0) api.use(cors(o.corsOrigins));
  api.use(apiRateLimit(o.apiRateLimit));
  api.route('/windows').get(async (req, res) => {
    const now = Date.now();
    const query = parseWindowQuery(req.query as Record<string, unknown>, now);
    // A Redis that does not answer gets the same 503 as one that is down, rather than a request that waits.
    if (!isAnswering(o.redis)) throw new RedisUnavailable();
    const timer = o.metrics.web.historyDuration.startTimer();
    const page = await o.history.range(query).catch((error: unknown) => {
      throw isAnswering(o.redis) ? error : new RedisUnavailable();
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
  }).all(otherMethods(READ));
  api
    .route('/stream')
    .get((req, res) => {
      const fromQuery = typeof req.query.lastEventId === 'string' ? req.query.lastEventId : undefined;
      o.hub.connect(req, res, req.get('last-event-id') ?? fromQuery);
    })
    .all(otherMethods(READ));
  const alerts = api.route('/alerts');
  alerts.get((_req, res) => {
    res.set('cache-control', 'no-store').json(o.alerts.list() satisfies AlertsEvent);
  });
  // Logged once per flood (until every firing alert fits again), and cut texts once per process.
  let cappedLogged = false;
  let cutLogged = false;
  alerts.post(
    // The token first: a stranger's body is never read, let alone parsed.
    (req, res, next) => {
      if (o.alertsToken === undefined || hasBearer(req, o.alertsToken)) return next();
      o.metrics.web.alertNotifications.inc({ result: 'unauthorized' });
      // The body is left unread; Node discards it as it arrives, without holding it.
      res.status(401).set('www-authenticate', 'Bearer').json({ error: 'a bearer token is required (CREMA_ALERTS_TOKEN)' });
    },
    express.json({ limit: ALERTS_BODY_LIMIT }),
    (req, res) => {
      let applied: AppliedNotification;
      try {
        applied = o.alerts.apply(req.body);
      } catch (error) {
        if (!(error instanceof AlertPayloadError)) throw error;
        o.metrics.web.alertNotifications.inc({ result: 'rejected' });
        res.status(400).json({ error: error.message });
        return;
      }
      o.metrics.web.alertNotifications.inc({ result: 'applied' });
      o.metrics.web.alertsFiring.set(o.alerts.size);
      o.metrics.web.alertsCapped.inc({ reason: 'too_many' }, applied.capped);
      o.metrics.web.alertsCapped.inc({ reason: 'truncated' }, applied.truncated);
      if (applied.capped > 0 && !cappedLogged) {
        cappedLogged = true;
        o.log.warn({ shown: o.alerts.size, omitted: o.alerts.omittedCount }, `more alerts fire than the page shows (${MAX_FIRING_ALERTS}); the least severe are left out and counted in coffee_web_alerts_capped_total`);
      } else if (applied.capped === 0 && o.alerts.omittedCount === 0) {
        cappedLogged = false;
      }
      if (applied.truncated > 0 && !cutLogged) {
        cutLogged = true;
        o.log.warn({ limits: ALERT_TEXT_LIMITS }, 'alert texts cut to the lengths the page shows; counted in coffee_web_alerts_capped_total');
      }
      if (applied.changed) {
        const state = o.alerts.list();
        // Names only, and only a few: annotations can be long and say more than a log should.
        o.log.info({ firing: state.alerts.length, omitted: state.omitted, names: state.alerts.slice(0, 10).map((a) => a.name) }, 'alerts changed');
        o.hub.setState(STREAM_EVENTS.alerts, state satisfies AlertsEvent);
      }
      res.status(200).json({ firing: o.alerts.size, omitted: o.alerts.omittedCount });
    },
  );
  alerts.all(otherMethods([...READ, 'POST']));
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

async function ping(redis: RedisClient): Promise<boolean> {
  if (!isAnswering(redis)) return false;
  try {
    return (await Promise.race([redis.ping(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])) === 'PONG';
  } catch {
    return false;
  }
}

/** Redis is down: the request may succeed later (503), it is not the server's bug (500). */
class RedisUnavailable extends Error {}
