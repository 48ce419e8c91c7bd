/**
 * Where a server listens and which proxies it trusts: the facts the web server's security
 * defaults depend on. Pure functions, no I/O.
 */
import { isIP } from 'node:net';

/** Whether a listen address reaches this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
  return v4 !== undefined && isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Express's `trust proxy`: `false` (X-Forwarded-* ignored), the number of proxy hops in front of
 * the server, or the proxies' addresses (IPs, CIDR ranges, `loopback`, `linklocal`, `uniquelocal`).
 */
export type TrustProxy = false | number | readonly string[];

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** Reads a trust-proxy setting; throws an Error whose message says what is wrong. */
export function parseTrustProxy(text: string): TrustProxy {
  const value = text.trim().toLowerCase();
  if (['off', 'false', 'no', '0', ''].includes(value)) return false;
  if (['true', 'yes', 'on', 'all'].includes(value)) {
    throw new Error('must not trust every address (any client could then pick the address it is rate-limited as); give the number of proxies in front, such as 1, or their addresses');
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 100) throw new Error('must be at most 100 proxy hops');
    return hops;
  }
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (NAMED_RANGES.has(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new Error(`"${entry.slice(0, 60)}" is neither an address, a CIDR range nor one of loopback, linklocal, uniquelocal`);
    }
  }
  return entries;
}

/** How a trust-proxy setting reads in `crema config`. */
export function formatTrustProxy(value: TrustProxy): string {
  return value === false ? 'off' : typeof value === 'number' ? String(value) : value.join(',');
}
