/**
 * The alerts firing now, kept from Alertmanager's webhook notifications (`POST /api/alerts`):
 * a firing alert is added or updated, a resolved one removed. Alertmanager re-sends what still
 * fires, so a restarted web server learns the current alerts again within the route's repeat
 * interval.
 */
import { z } from 'zod';
import type { FiringAlert } from './api-types.js';

const text = z.string().max(4096);

/** Alertmanager's webhook body (version 4), as far as the banner needs it. */
const notificationSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), text),
        annotations: z.record(z.string(), text).default({}),
        startsAt: text,
        fingerprint: z.string().min(1).max(128),
      }),
    )
    .max(10_000),
});

/** A webhook body that is not an Alertmanager notification; the message names what is wrong. */
export class AlertPayloadError extends Error {}

/** Most severe first; alerts of one severity oldest first. */
const SEVERITY_ORDER = ['critical', 'warning', 'info'];

export class AlertBoard {
  private readonly firing = new Map<string, FiringAlert>();

  /** Number of alerts firing now. */
  get size(): number {
    return this.firing.size;
  }

  /**
   * Applies one webhook notification; returns whether the firing alerts changed.
   * @throws AlertPayloadError when `body` is not an Alertmanager (v4) notification.
   */
  apply(body: unknown): boolean {
    const parsed = notificationSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new AlertPayloadError(`not an Alertmanager webhook notification: ${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    let changed = false;
    for (const alert of parsed.data.alerts) {
      if (alert.status === 'resolved') {
        changed = this.firing.delete(alert.fingerprint) || changed;
        continue;
      }
      const next: FiringAlert = {
        name: alert.labels.alertname ?? 'unnamed alert',
        severity: alert.labels.severity ?? 'none',
        summary: alert.annotations.summary ?? '',
        description: alert.annotations.description ?? '',
        startsAt: alert.startsAt,
      };
      const previous = this.firing.get(alert.fingerprint);
      if (!previous || JSON.stringify(previous) !== JSON.stringify(next)) changed = true;
      this.firing.set(alert.fingerprint, next);
    }
    return changed;
  }

  /** The alerts firing now, most severe first. */
  list(): FiringAlert[] {
    const rank = (a: FiringAlert) => {
      const i = SEVERITY_ORDER.indexOf(a.severity);
      return i < 0 ? SEVERITY_ORDER.length : i;
    };
    return [...this.firing.values()].sort((a, b) => rank(a) - rank(b) || a.startsAt.localeCompare(b.startsAt) || a.name.localeCompare(b.name));
  }
}
