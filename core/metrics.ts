/**
 * Every metric Crema exports, in one registry per process (`crema up` shares it between its
 * stages). Names follow `coffee_<stage>_<thing>_<unit>`; every series carries a `host` label.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DEAD_LETTER_REASONS } from './order.js';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(host: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ host });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const metrics = {
    registry,
    errors: new Counter({
      name: 'coffee_errors_total',
      help: 'Failures, by stage and type; each failure is counted once.',
      labelNames: ['stage', 'type'] as const,
      registers,
    }),
    collector: {
      lines: new Counter({
        name: 'coffee_collector_lines_total',
        help: 'Lines committed to the queue, by source file.',
        labelNames: ['source'] as const,
        registers,
      }),
      bytes: new Counter({
        name: 'coffee_collector_bytes_total',
        help: 'Bytes of input committed to the queue, by source file.',
        labelNames: ['source'] as const,
        registers,
      }),
      bytesBehind: new Gauge({
        name: 'coffee_collector_bytes_behind',
        help: 'Bytes of a source file not yet committed to the queue.',
        labelNames: ['source'] as const,
        registers,
      }),
      rotations: new Counter({
        name: 'coffee_collector_rotations_total',
        help: 'Times a followed path was found pointing at a new file (rotation or re-creation).',
        labelNames: ['source'] as const,
        registers,
      }),
      truncations: new Counter({
        name: 'coffee_collector_truncations_total',
        help: 'Times a followed file shrank below the committed offset (copytruncate).',
        labelNames: ['source'] as const,
        registers,
      }),
      queueLength: new Gauge({
        name: 'coffee_collector_queue_length',
        help: 'Queue length seen by the collector at its last push.',
        registers,
      }),
      backpressurePauses: new Counter({
        name: 'coffee_collector_backpressure_pauses_total',
        help: 'Times the collector paused reading because the queue was over its bound.',
        registers,
      }),
    },
    processor: {
      orders: new Counter({
        name: 'coffee_processor_orders_total',
        help: 'Envelopes committed, by result: counted (valid order), dead (dead letter), late (counted into a closed window).',
        labelNames: ['result'] as const,
        registers,
      }),
      drinks: new Counter({
        name: 'coffee_processor_drinks_total',
        help: 'Drinks of the valid orders committed (the order-rate alerts also watch drinks per minute).',
        registers,
      }),
      deadLetters: new Counter({
        name: 'coffee_processor_dead_letters_total',
        help: 'Dead letters committed, by reason.',
        labelNames: ['reason'] as const,
        registers,
      }),
      deadLettersTrimmed: new Counter({
        name: 'coffee_processor_dead_letters_trimmed_total',
        help: 'Oldest dead letters dropped because the dead-letter store was at its cap (CREMA_DEAD_MAX).',
        registers,
      }),
      clockSkew: new Counter({
        name: 'coffee_processor_clock_skew_total',
        help: 'Orders whose orderedAt was out of bounds, so their ingestion time was used.',
        registers,
      }),
      batchSize: new Histogram({
        name: 'coffee_processor_batch_size',
        help: 'Envelopes per committed batch.',
        buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
        registers,
      }),
      commitDuration: new Histogram({
        name: 'coffee_processor_commit_duration_seconds',
        help: 'Time of one commit round trip.',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers,
      }),
      latency: new Histogram({
        name: 'coffee_processor_latency_seconds',
        help: 'From ingestion by the collector to commit, for the oldest envelope of each batch.',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
      windowsClosed: new Counter({
        name: 'coffee_processor_windows_closed_total',
        help: 'Windows closed and marked final.',
        registers,
      }),
      recovered: new Counter({
        name: 'coffee_processor_recovered_envelopes_total',
        help: 'Envelopes of dead consumers put back on the queue.',
        registers,
      }),
      leaseLost: new Counter({
        name: 'coffee_processor_lease_lost_total',
        help: 'Times this processor lost its lease and dropped its batch.',
        registers,
      }),
    },
    web: {
      streamClients: new Gauge({
        name: 'coffee_web_stream_clients',
        help: 'Live-stream clients connected now.',
        registers,
      }),
      streamMessages: new Counter({
        name: 'coffee_web_stream_messages_total',
        help: 'Window snapshots received from the stats channel and relayed to the stream clients.',
        registers,
      }),
      droppedClients: new Counter({
        name: 'coffee_web_stream_dropped_clients_total',
        help: 'Live-stream clients disconnected by the server, by reason: slow (buffer full), full (too many clients).',
        labelNames: ['reason'] as const,
        registers,
      }),
      requests: new Counter({
        name: 'coffee_web_requests_total',
        help: 'HTTP requests answered, by route and status code.',
        labelNames: ['route', 'status'] as const,
        registers,
      }),
      alertsFiring: new Gauge({
        name: 'coffee_web_alerts_firing',
        help: 'Alerts firing now, as Alertmanager last reported them to /api/alerts (shown on the page).',
        registers,
      }),
      alertNotifications: new Counter({
        name: 'coffee_web_alert_notifications_total',
        help: 'Alertmanager webhook notifications received on /api/alerts, by result: applied, rejected (not a notification), unauthorized.',
        labelNames: ['result'] as const,
        registers,
      }),
      alertsCapped: new Counter({
        name: 'coffee_web_alerts_capped_total',
        help: 'Firing alerts of /api/alerts notifications not shown in full, by reason: too_many (over the 100 shown), truncated (a text cut).',
        labelNames: ['reason'] as const,
        registers,
      }),
      historyDuration: new Histogram({
        name: 'coffee_web_history_duration_seconds',
        help: 'Time to read the windows of one /api/windows request from Redis.',
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers,
      }),
    },
    exporter: {
      points: new Counter({
        name: 'coffee_exporter_points_total',
        help: 'Points written to InfluxDB and acknowledged (a re-export of a window counts again).',
        registers,
      }),
      windows: new Counter({
        name: 'coffee_exporter_windows_total',
        help: 'Window snapshots written to InfluxDB, by kind: final (closed), revised (late orders), provisional (still open).',
        labelNames: ['kind'] as const,
        registers,
      }),
      writeDuration: new Histogram({
        name: 'coffee_exporter_write_duration_seconds',
        help: 'Time of one acknowledged write to InfluxDB.',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
        registers,
      }),
      lag: new Gauge({
        name: 'coffee_exporter_lag_seconds',
        help: 'Age of the oldest window change not yet acknowledged by InfluxDB; 0 when caught up.',
        registers,
      }),
      influxUp: new Gauge({
        name: 'coffee_exporter_influx_up',
        help: 'Whether the last write to InfluxDB succeeded (1) or failed (0).',
        registers,
      }),
    },
    generator: {
      orders: new Counter({
        name: 'coffee_generator_orders_total',
        help: 'Orders appended by the generator.',
        registers,
      }),
    },
  };
  // Known label values start at 0, so rates and alerts see them before the first event.
  for (const result of ['counted', 'dead', 'late']) metrics.processor.orders.inc({ result }, 0);
  for (const reason of DEAD_LETTER_REASONS) metrics.processor.deadLetters.inc({ reason }, 0);
  for (const kind of ['final', 'revised', 'provisional']) metrics.exporter.windows.inc({ kind }, 0);
  for (const reason of ['slow', 'full']) metrics.web.droppedClients.inc({ reason }, 0);
  for (const result of ['applied', 'rejected', 'unauthorized']) metrics.web.alertNotifications.inc({ result }, 0);
  for (const reason of ['too_many', 'truncated']) metrics.web.alertsCapped.inc({ reason }, 0);
  return metrics;
}
