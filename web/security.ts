/** Security headers, CORS, the API rate limit and bearer tokens. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet, { strictTransportSecurity } from 'helmet';
import { isLoopbackHost } from '../core/network.js';

/**
 * Helmet with a strict Content Security Policy: scripts, styles and connections from this origin
 * only, no inline script or style, and Trusted Types required, so no string can become HTML.
 * Strict-Transport-Security only on requests that came over HTTPS: browsers ignore it over plain
 * HTTP, and a server reached by plain HTTP (a laptop, a test) should not claim otherwise. Behind a
 * TLS proxy, `req.secure` reads X-Forwarded-Proto when `trust proxy` trusts that proxy.
 */
/**
 * Whether the web port serves `/metrics` (`CREMA_WEB_METRICS`): `auto` serves it on a loopback
 * address, or behind a token; beyond loopback without a token it is off, so that a public page does
 * not publish the pipeline's internals.
 */
export function metricsEndpoint(settings: { readonly webMetrics: 'auto' | 'on' | 'off'; readonly webHost: string; readonly webMetricsToken?: string | undefined }): 'on' | 'off' {
  if (settings.webMetrics !== 'auto') return settings.webMetrics;
  return isLoopbackHost(settings.webHost) || settings.webMetricsToken !== undefined ? 'on' : 'off';
}

export function securityHeaders(): RequestHandler {
  const headers = helmet({
    strictTransportSecurity: false,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        manifestSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
        requireTrustedTypesFor: ["'script'"],
        trustedTypes: ["'none'"],
      },
    },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  const hsts = strictTransportSecurity({ maxAge: 31_536_000, includeSubDomains: true });
  return (req, res, next) => {
    headers(req, res, (error?: unknown) => {
      if (error !== undefined) return next(error);
      if (req.secure) return hsts(req, res, next);
      next();
    });
  };
}

/**
 * Lets the listed origins read the API from a browser; no header at all for any other origin
 * (the browser then refuses), and nothing when the list is empty.
 */
export function cors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    res.vary('Origin');
    if (origin === undefined || !allowed.has(origin)) return next();
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-methods', 'GET');
    res.setHeader('access-control-allow-headers', 'Last-Event-ID');
    res.setHeader('access-control-max-age', '600');
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * The client's address as Express sees it (`trust proxy` decides whether X-Forwarded-For counts),
 * or the connection's peer when a trusted proxy forwarded something that is not an address.
 */
function clientAddress(req: Request): string {
  const forwarded = req.ip;
  return forwarded !== undefined && isIP(forwarded) !== 0 ? forwarded : (req.socket.remoteAddress ?? 'unknown');
}

/**
 * At most `perMinute` requests per client address per minute; 0 turns the limit off. The address
 * is Express's `req.ip`: the peer, or the client behind a proxy that `trust proxy` trusts.
 */
export function apiRateLimit(perMinute: number): RequestHandler {
  if (perMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    message: { error: `rate limit: at most ${perMinute} API requests per minute` },
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req)),
    // X-Forwarded-For and Forwarded are ignored on purpose unless a proxy is trusted (the setting
    // says so); the library would log each as a misconfiguration, with a stack trace.
    validate: { xForwardedForHeader: false, forwardedHeader: false },
  });
}

/** Compares secrets in constant time (hashes first, so lengths do not leak either). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Whether the request carries `Authorization: Bearer <token>`. */
export function hasBearer(req: Request, token: string): boolean {
  return sameSecret(req.get('authorization') ?? '', `Bearer ${token}`);
}
