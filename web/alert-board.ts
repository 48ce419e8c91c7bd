/**
 * The alerts firing now, kept from Alertmanager's webhook notifications (`POST /api/alerts`):
 * a firing alert is added or updated, a resolved one removed. Alertmanager re-sends what still
 * fires, so a restarted web server learns the current alerts again within the route's repeat
 * interval.
 *
 * Bounded whatever is posted: at most {@link MAX_FIRING_ALERTS} alerts are kept (the most severe),
 * each with the few texts the banner shows, cut to {@link ALERT_TEXT_LIMITS}; the alerts beyond
 * are only counted.
 */
import { z } from 'zod';
import type { AlertsEvent, FiringAlert } from './api-types.js';

/** Most alerts kept and shown at once. */
export const MAX_FIRING_ALERTS = 100;

/** Longest text kept per field, in characters; a longer one is cut and ends with "…". */
export const ALERT_TEXT_LIMITS = { name: 100, severity: 32, summary: 200, description: 500 } as const;

/** Alerts not shown whose fingerprints are remembered, so that the page can say how many more fire. */
const MAX_OMITTED_TRACKED = 1000;

/** Alertmanager's webhook body (version 4), as far as the banner needs it. */
const notificationSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        // Any length: the request's size limit bounds them, and only a few are kept, cut.
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string().max(64),
        fingerprint: z.string().min(1).max(128),
      }),
    )
    .max(10_000),
});

/** A webhook body that is not an Alertmanager notification; the message names what is wrong. */
export class AlertPayloadError extends Error {}

/** What one notification did. */
export interface AppliedNotification {
  /** The alerts shown (or the count of those not shown) changed. */
  readonly changed: boolean;
  /** Firing alerts of this notification not shown because {@link MAX_FIRING_ALERTS} more important ones are (or shown in place of one that now is not). */
  readonly capped: number;
  /** Firing alerts of this notification with a text cut to {@link ALERT_TEXT_LIMITS}. */
  readonly truncated: number;
}

/** Most severe first; alerts of one severity oldest first. */
const SEVERITY_ORDER = ['critical', 'warning', 'info'];

function rank(alert: FiringAlert): number {
  const i = SEVERITY_ORDER.indexOf(alert.severity);
  return i < 0 ? SEVERITY_ORDER.length : i;
}

/** Whether `a` goes before `b` in the banner. */
function compare(a: FiringAlert, b: FiringAlert): number {
  return rank(a) - rank(b) || a.startsAt.localeCompare(b.startsAt) || a.name.localeCompare(b.name);
}

/** `text` cut to `limit` characters, the last one "…"; never splits a surrogate pair. */
function cut(text: string, limit: number): { text: string; cut: boolean } {
  if (text.length <= limit) return { text, cut: false };
  let end = limit - 1;
  if (/[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
  return { text: `${text.slice(0, end)}…`, cut: true };
}

export class AlertBoard {
  private readonly firing = new Map<string, FiringAlert>();
  /** Fingerprints of firing alerts not shown (at most {@link MAX_OMITTED_TRACKED}). */
  private readonly omitted = new Set<string>();

  /** Number of alerts shown now. */
  get size(): number {
    return this.firing.size;
  }

  /** Number of firing alerts known and not shown (a lower bound past 1,000). */
  get omittedCount(): number {
    return this.omitted.size;
  }

  /**
   * Applies one webhook notification.
   * @throws AlertPayloadError when `body` is not an Alertmanager (v4) notification.
   */
  apply(body: unknown): AppliedNotification {
    const parsed = notificationSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AlertPayloadError(`not an Alertmanager webhook notification: ${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const before = this.signature();
    let capped = 0;
    let truncated = 0;
    for (const alert of parsed.data.alerts) {
      const fingerprint = alert.fingerprint;
      if (alert.status === 'resolved') {
        this.firing.delete(fingerprint);
        this.omitted.delete(fingerprint);
        continue;
      }
      const texts = {
        name: cut(alert.labels.alertname ?? 'unnamed alert', ALERT_TEXT_LIMITS.name),
        severity: cut(alert.labels.severity ?? 'none', ALERT_TEXT_LIMITS.severity),
        summary: cut(alert.annotations.summary ?? '', ALERT_TEXT_LIMITS.summary),
        description: cut(alert.annotations.description ?? '', ALERT_TEXT_LIMITS.description),
      };
      if (Object.values(texts).some((t) => t.cut)) truncated++;
      const next: FiringAlert = {
        name: texts.name.text,
        severity: texts.severity.text,
        summary: texts.summary.text,
        description: texts.description.text,
        startsAt: alert.startsAt,
      };
      if (this.firing.has(fingerprint) || this.firing.size < MAX_FIRING_ALERTS) {
        this.firing.set(fingerprint, next);
        this.omitted.delete(fingerprint);
        continue;
      }
      // Full: the new alert takes the place of the least important one if it is more severe.
      capped++;
      const [leastKey, least] = [...this.firing].reduce((a, b) => (compare(a[1], b[1]) >= 0 ? a : b));
      if (rank(next) < rank(least)) {
        this.firing.delete(leastKey);
        this.firing.set(fingerprint, next);
        this.omitted.delete(fingerprint);
        this.remember(leastKey);
      } else {
        this.remember(fingerprint);
      }
    }
    return { changed: this.signature() !== before, capped, truncated };
  }

  /** The alerts shown now, most severe first, and how many more fire. */
  list(): AlertsEvent {
    return { alerts: [...this.firing.values()].sort(compare), omitted: this.omitted.size };
  }

  private remember(fingerprint: string): void {
    if (this.omitted.size < MAX_OMITTED_TRACKED) this.omitted.add(fingerprint);
  }

  private signature(): string {
    return JSON.stringify([...this.firing], null, 0) + this.omitted.size;
  }
}
