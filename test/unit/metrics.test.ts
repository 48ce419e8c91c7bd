/** The metrics every stage exposes: names, labels and the series that exist before the first event. */
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../core/metrics.js';
import { DEFAULT_CATALOG } from '../../core/catalog.js';
import { EnvelopeFramer } from '../../core/envelope.js';
import { BatchCounter, drinksOf } from '../../processor/batch-counter.js';

/** What issue "the stack watches itself" asks for, by metric name. */
const REQUIRED = [
  'coffee_collector_lines_total',
  'coffee_collector_bytes_behind',
  'coffee_collector_queue_length',
  'coffee_processor_orders_total',
  'coffee_processor_drinks_total',
  'coffee_processor_dead_letters_total',
  'coffee_processor_batch_size',
  'coffee_processor_commit_duration_seconds',
  'coffee_processor_latency_seconds',
  'coffee_processor_windows_closed_total',
  'coffee_exporter_points_total',
  'coffee_exporter_lag_seconds',
  'coffee_web_stream_clients',
  'coffee_errors_total',
  'nodejs_eventloop_lag_seconds',
  'process_resident_memory_bytes',
];

describe('createMetrics', () => {
  it('registers every required metric, named coffee_<stage>_<thing>_<unit>, with default Node metrics', async () => {
    const metrics = createMetrics('shop-1');
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    for (const name of REQUIRED) expect(names, name).toContain(name);
    for (const name of names.filter((n) => n.startsWith('coffee_'))) {
      expect(name).toMatch(/^coffee_(collector|processor|exporter|web|generator)_[a-z_]+$|^coffee_errors_total$/);
    }
  });

  it('labels every series with the host, and exposes known results and reasons at 0 before any event', async () => {
    const text = await createMetrics('shop-1').registry.metrics();
    expect(text).toContain('coffee_processor_orders_total{result="counted",host="shop-1"} 0');
    expect(text).toContain('coffee_processor_orders_total{result="dead",host="shop-1"} 0');
    expect(text).toContain('coffee_processor_dead_letters_total{reason="invalid_json",host="shop-1"} 0');
    for (const line of text.split('\n').filter((l) => l.startsWith('coffee_'))) expect(line).toContain('host="shop-1"');
  });
});

describe('drinksOf', () => {
  it('sums the drinks of a batch over its windows, without the dead letters', () => {
    const counter = new BatchCounter({ catalog: DEFAULT_CATALOG, windowMs: 10_000, limits: { maxFutureMs: 60_000, maxPastMs: 86_400_000 } });
    const framer = new EnvelopeFramer('h', '/orders.log', 'f.0');
    const T = 1_795_304_350_000;
    const counts = counter.count(
      [
        framer.frame(0, T, '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Americano","Espresso"]}'),
        framer.frame(1, T + 20_000, '{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Americano","Espresso","Flat White"]}'),
        framer.frame(2, T, 'not json'),
      ].map((e) => Buffer.from(e)),
      T + 30_000,
    );
    expect(counts.windows.size).toBe(2);
    expect(drinksOf(counts)).toBe(5);
  });
});
