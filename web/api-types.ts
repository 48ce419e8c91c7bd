/**
 * What the web server sends, shared by the server and the page (so this module may import
 * nothing that needs Node or the DOM).
 */
import type { WindowSnapshot } from '../core/window-snapshot.js';

export type { WindowSnapshot };

/** A window as the history API answers it: the snapshot plus its bounds in UTC. */
export interface ApiWindow extends WindowSnapshot {
  /** `start` as ISO-8601 in UTC. */
  readonly startTime: string;
  /** `end` as ISO-8601 in UTC. */
  readonly endTime: string;
}

/** The body of `GET /api/windows`. */
export interface WindowsResponse {
  readonly from: string;
  readonly to: string;
  readonly limit: number;
  readonly windowMs: number;
  /** The range holds older windows than those returned. */
  readonly truncated: boolean;
  /** Oldest first. */
  readonly windows: ApiWindow[];
}

/** The body of every error answer of the API. */
export interface ApiError {
  readonly error: string;
  /** The query parameter at fault, for a 400. */
  readonly parameter?: string;
  /**
   * Why a 503: `redis_down`, or `no_shared_settings` while no processor has stored the prefix's
   * shared settings (the window size is not known yet).
   */
  readonly reason?: 'redis_down' | 'no_shared_settings';
}

/** Stream event `hello`: the first event of every connection. */
export interface HelloEvent {
  /** The stream continues where the client's Last-Event-ID left off; else refetch the history. */
  readonly resumed: boolean;
  /** The window size; null until a processor has stored the prefix's shared settings. */
  readonly windowMs: number | null;
  readonly redis: 'up' | 'down';
}

/** Stream event `status`: the server's subscription to Redis went down or came back. */
export interface StatusEvent {
  readonly redis: 'up' | 'down';
}

/**
 * An alert firing now, as Alertmanager reported it to `POST /api/alerts`; texts longer than the
 * server keeps are cut and end with "…".
 */
export interface FiringAlert {
  /** The alert's name, such as `CremaOrderRateLow` (at most 100 characters). */
  readonly name: string;
  /** At most 32 characters. */
  readonly severity: string;
  /** At most 200 characters. */
  readonly summary: string;
  /** At most 500 characters. */
  readonly description: string;
  /** ISO-8601. */
  readonly startsAt: string;
}

/**
 * Stream event `alerts` (and the body of `GET /api/alerts`): the alerts firing now, most severe
 * first, at most 100 of them.
 */
export interface AlertsEvent {
  readonly alerts: readonly FiringAlert[];
  /** Alerts firing beyond those shown (counted up to 1,000). */
  readonly omitted: number;
}

/**
 * Event names of the live stream; `window` carries a {@link WindowSnapshot}, `alerts` an
 * {@link AlertsEvent} (sent after `hello` and whenever the firing alerts change).
 */
export const STREAM_EVENTS = { hello: 'hello', window: 'window', status: 'status', alerts: 'alerts' } as const;
