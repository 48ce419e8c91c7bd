/**
 * "Pipeline health": what on-call asks when orders look wrong. Is every stage up, and is an alert
 * firing? Does work flow (throughput per stage, queue depth, bytes the collector is behind)? How
 * long does an order take from the file to Redis? Is the input bad (dead letters) or late? Is
 * InfluxDB behind, how many live clients are there, and is a process starved (event loop, memory)?
 * Every query is PromQL on the Prometheus that scrapes the stages.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { cremaDashboard } from './base.js';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { type RateThreshold, THRESHOLDS, perMinute } from '../../core/thresholds.js';
import { PROMETHEUS } from '../datasources.js';
import { numberPanels } from '../panel-ids.js';

/** Grafana's rate range: at least four scrapes, so a rate never has too few samples. */
const RATE = '$__rate_interval';

/** Firing alerts, as Prometheus keeps them in its `ALERTS` series. */
export const FIRING_ALERTS = 'ALERTS{alertstate="firing"}';

const query = (expr: string, legend: string, refId = 'A') =>
  new prometheus.DataqueryBuilder().datasource(PROMETHEUS).expr(expr).legendFormat(legend).range().refId(refId);

const legend = () => new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom).calcs(['mean', 'max', 'lastNotNull']);

function graph(title: string, description: string, unit: string, targets: readonly ReturnType<typeof query>[], span = 12) {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .unit(unit)
    .min(0)
    .fillOpacity(10)
    .lineWidth(2)
    .legend(legend())
    .height(8)
    .span(span);
  for (const target of targets) panel.withTarget(target);
  return panel;
}

/** Red below `low` and above `high`, drawn as dashed lines: the order-rate alerts' thresholds. */
function thresholdLines(threshold: RateThreshold) {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: threshold.low, color: 'green' },
    { value: threshold.high, color: 'red' },
  ]);
}

function upPanel() {
  return new statetimeline.PanelBuilder()
    .title('Up')
    .description('Whether Prometheus could scrape each Crema process (1 = up).')
    .datasource(PROMETHEUS)
    .withTarget(query('up{job=~"crema.*"}', '{{job}} {{instance}}'))
    .mappings([
      {
        type: dashboard.MappingType.ValueToText,
        options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } },
      },
    ])
    .showValue(common.VisibilityMode.Never)
    .height(6)
    .span(12);
}

function firingAlertsPanel() {
  return new table.PanelBuilder()
    .title('Firing alerts')
    .description('Alerts firing now, from the rules in prometheus/rules (also shown as annotations on every graph).')
    .datasource(PROMETHEUS)
    .withTarget(new prometheus.DataqueryBuilder().datasource(PROMETHEUS).expr(FIRING_ALERTS).instant().format(prometheus.PromQueryFormat.Table).refId('A'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true, alertstate: true } } })
    .noValue('No alert is firing')
    .height(6)
    .span(12);
}

/** The "Pipeline health" dashboard, as Grafana provisions it. */
export function pipelineHealthDashboard(): dashboard.Dashboard {
  const { ordersPerMinute } = THRESHOLDS;
  const built = cremaDashboard({
    title: 'Pipeline health',
    uid: 'crema-pipeline-health',
    description: 'The Crema stages watched by Prometheus: throughput, queue, latency, data quality, export, clients and runtime.',
    tags: ['crema', 'prometheus'],
  })
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name('Firing alerts')
        .datasource(PROMETHEUS)
        .enable(true)
        .iconColor('red')
        .expr(FIRING_ALERTS)
        .step('10s')
        .titleFormat('{{alertname}}')
        .textFormat('{{severity}} {{instance}}')
        .tagKeys('alertname,severity'),
    )
    .withRow(new dashboard.RowBuilder('Health'))
    .withPanel(upPanel())
    .withPanel(firingAlertsPanel())
    .withRow(new dashboard.RowBuilder('Throughput'))
    .withPanel(
      graph('Throughput per stage', 'Per second: orders the generators wrote, lines the collectors pushed, envelopes the processors committed, points the exporters wrote.', 'short', [
        query(`sum(rate(coffee_generator_orders_total[${RATE}]))`, 'generated orders', 'D'),
        query(`sum(rate(coffee_collector_lines_total[${RATE}]))`, 'collected lines', 'A'),
        query(`sum(rate(coffee_processor_orders_total{result=~"counted|dead"}[${RATE}]))`, 'committed envelopes', 'B'),
        query(`sum(rate(coffee_exporter_points_total[${RATE}]))`, 'exported points', 'C'),
      ]),
    )
    .withPanel(
      graph(
        'Orders per minute',
        `Valid orders committed. Dashed lines: the alert thresholds (${ordersPerMinute.low} and ${ordersPerMinute.high} per minute, config/thresholds.json).`,
        'short',
        [query(perMinute('orders', RATE), 'orders per minute')],
      )
        .thresholds(thresholdLines(ordersPerMinute))
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)),
    )
    .withPanel(graph('Queue depth', 'Envelopes waiting in the Redis queue, as the collectors saw it at their last push.', 'short', [query('sum(coffee_collector_queue_length)', 'queue')]))
    .withPanel(
      graph('Collector bytes behind', 'Bytes of each followed file not yet pushed to the queue.', 'bytes', [query('sum by (source) (coffee_collector_bytes_behind)', '{{source}}')]),
    )
    .withRow(new dashboard.RowBuilder('Latency'))
    .withPanel(
      graph('Append → commit latency', 'From the collector reading a line to the processor committing it (oldest envelope of each batch).', 's', [
        query(`histogram_quantile(0.5, sum by (le) (rate(coffee_processor_latency_seconds_bucket[${RATE}])))`, 'p50', 'A'),
        query(`histogram_quantile(0.99, sum by (le) (rate(coffee_processor_latency_seconds_bucket[${RATE}])))`, 'p99', 'B'),
      ]),
    )
    .withPanel(
      graph('Commit duration', 'One commit round trip to Redis: the whole batch in one script.', 's', [
        query(`histogram_quantile(0.5, sum by (le) (rate(coffee_processor_commit_duration_seconds_bucket[${RATE}])))`, 'p50', 'A'),
        query(`histogram_quantile(0.99, sum by (le) (rate(coffee_processor_commit_duration_seconds_bucket[${RATE}])))`, 'p99', 'B'),
      ]),
    )
    .withRow(new dashboard.RowBuilder('Data quality'))
    .withPanel(
      graph('Dead letters by reason', 'Per minute: lines that were not orders, by reason (see the dead-letter list in Redis).', 'short', [
        query(`sum by (reason) (rate(coffee_processor_dead_letters_total[${RATE}])) * 60`, '{{reason}}'),
      ]),
    )
    .withPanel(
      graph('Late orders', 'Per minute: orders counted after their window closed. Steady late orders mean a collector lags or clocks disagree.', 'short', [
        query(`sum(rate(coffee_processor_orders_total{result="late"}[${RATE}])) * 60`, 'late orders per minute'),
      ]),
    )
    .withRow(new dashboard.RowBuilder('Export and web'))
    .withPanel(graph('Export lag', 'Age of the oldest window change InfluxDB has not acknowledged; 0 when caught up.', 's', [query('max by (instance) (coffee_exporter_lag_seconds)', '{{instance}}')]))
    .withPanel(graph('Stream clients', 'Live-page clients connected to the web servers.', 'short', [query('sum by (instance) (coffee_web_stream_clients)', '{{instance}}')]))
    .withRow(new dashboard.RowBuilder('Runtime'))
    .withPanel(graph('Event-loop lag', 'p99 delay of the Node.js event loop per process: a busy loop delays everything.', 's', [query('max by (instance) (nodejs_eventloop_lag_p99_seconds)', '{{instance}}')], 8))
    .withPanel(graph('Memory', 'Resident memory per process.', 'bytes', [query('max by (instance) (process_resident_memory_bytes)', '{{instance}}')], 8))
    .withPanel(
      graph('Errors by stage and type', 'Per minute: each failure is counted once, by stage and type.', 'short', [query(`sum by (stage, type) (rate(coffee_errors_total[${RATE}])) * 60`, '{{stage}} {{type}}')], 8),
    )
    .build();
  return numberPanels(built);
}
