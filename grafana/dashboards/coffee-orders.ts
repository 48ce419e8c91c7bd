/**
 * "Coffee orders": what a shop manager and an on-call engineer ask. How busy are we (orders and
 * drinks per minute, against the alert thresholds)? What sells (by coffee type, top coffees)? Who
 * buys and how (payment method, age grade)? What is happening right now (the newest window), and
 * is data arriving late?
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { cremaDashboard } from './base.js';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { MEASUREMENT } from '../../core/influx-schema.js';
import { type RateThreshold, THRESHOLDS } from '../../core/thresholds.js';
import { INFLUXDB } from '../datasources.js';
import { InfluxQL, InfluxQLTarget } from '../influxql.js';
import { numberPanels } from '../panel-ids.js';

const { windows, coffee, payment, age } = MEASUREMENT;

/** Template variable: the coffee types shown by the coffee panels. */
export const COFFEE_VARIABLE = 'coffee';

/** Windows are 10 s by default; a bucket under a minute would show empty buckets between windows. */
const MIN_INTERVAL = '1m';

const target = (query: InfluxQL, refId = 'A') => new InfluxQLTarget(INFLUXDB, query).refId(refId);

const legend = (placement = common.LegendPlacement.Bottom) =>
  new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table).placement(placement).calcs(['mean', 'max', 'lastNotNull']);

/** Red below `low` and above `high`, drawn as dashed lines. */
function thresholdLines(threshold: RateThreshold) {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: threshold.low, color: 'green' },
    { value: threshold.high, color: 'red' },
  ]);
}

function ratePanel(title: string, description: string, field: 'orders' | 'drinks', threshold: RateThreshold) {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(INFLUXDB)
    .withTarget(target(InfluxQL.from(windows.name).select('sum', field, { as: field, perMinute: true }).groupByTime().fill(0)))
    .interval(MIN_INTERVAL)
    .unit('short')
    .min(0)
    .decimals(0)
    .thresholds(thresholdLines(threshold))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
    .fillOpacity(10)
    .lineWidth(2)
    .legend(legend())
    .height(8)
    .span(12);
}

function currentWindowPanel() {
  return new stat.PanelBuilder()
    .title('Newest window')
    .description('Counts of the newest window; provisional until it closes.')
    .datasource(INFLUXDB)
    .withTarget(
      target(
        InfluxQL.from(windows.name)
          .select('last', 'orders', { as: 'Orders' })
          .select('last', 'drinks', { as: 'Drinks' })
          .select('last', 'late', { as: 'Late orders' }),
      ),
    )
    .unit('short')
    .decimals(0)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.None)
    .height(5)
    .span(8);
}

function totalPanel(title: string, description: string, query: InfluxQL, unit = 'short') {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(INFLUXDB)
    .withTarget(target(query))
    .unit(unit)
    .decimals(0)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['sum']).values(false))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.None)
    .height(5)
    .span(4);
}

function coffeeTypePanel() {
  return new timeseries.PanelBuilder()
    .title('Drinks per minute by coffee type')
    .description('Stacked: the top line is all drinks of the selected coffee types.')
    .datasource(INFLUXDB)
    .withTarget(
      target(
        InfluxQL.from(coffee.name).select('sum', coffee.field, { perMinute: true }).whereTagIn(coffee.tag, COFFEE_VARIABLE).groupByTime().groupByTag(coffee.tag).fill(0),
      ).alias(`$tag_${coffee.tag}`),
    )
    .interval(MIN_INTERVAL)
    .unit('short')
    .min(0)
    .decimals(0)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
    .fillOpacity(60)
    .lineWidth(1)
    .legend(legend(common.LegendPlacement.Right))
    .height(9)
    .span(16);
}

function topCoffeesPanel() {
  return new bargauge.PanelBuilder()
    .title('Top coffees')
    .description('Drinks of each selected coffee type in the time range, most sold first.')
    .datasource(INFLUXDB)
    .withTarget(
      target(InfluxQL.from(coffee.name).select('sum', coffee.field).whereTagIn(coffee.tag, COFFEE_VARIABLE).groupByTag(coffee.tag)).alias(`$tag_${coffee.tag}`),
    )
    // One row per coffee, sorted by its total: Grafana sorts rows, not series.
    .withTransformation({ id: 'reduce', options: { mode: 'seriesToRows', reducers: ['sum'] } })
    .withTransformation({ id: 'sortBy', options: { sort: [{ field: 'Total', desc: true }] } })
    .unit('short')
    .decimals(0)
    .min(0)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs([]).fields('/^Total$/'))
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .height(9)
    .span(8);
}

function paymentPanel() {
  return new timeseries.PanelBuilder()
    .title('Orders per minute by payment method')
    .description('Cash, credit or debit: how customers pay.')
    .datasource(INFLUXDB)
    .withTarget(target(InfluxQL.from(payment.name).select('sum', payment.field, { perMinute: true }).groupByTime().groupByTag(payment.tag).fill(0)).alias(`$tag_${payment.tag}`))
    .interval(MIN_INTERVAL)
    .unit('short')
    .min(0)
    .decimals(0)
    .fillOpacity(10)
    .legend(legend())
    .height(8)
    .span(12);
}

function agePanel() {
  return new bargauge.PanelBuilder()
    .title('Orders by customer age grade')
    .description('Orders in the time range, by age grade (0010 = up to 10 years, 1020 = 10 to 20, …).')
    .datasource(INFLUXDB)
    .withTarget(target(InfluxQL.from(age.name).select('sum', age.field).groupByTag(age.tag)).alias(`$tag_${age.tag}`))
    .unit('short')
    .decimals(0)
    .min(0)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['sum']).values(false))
    .orientation(common.VizOrientation.Vertical)
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .height(8)
    .span(12);
}

function latePanel() {
  return new timeseries.PanelBuilder()
    .title('Late orders over time')
    .description('Orders counted after their window had closed (each re-exports the window as revised). Steady late orders mean a collector lags or clocks disagree.')
    .datasource(INFLUXDB)
    .withTarget(target(InfluxQL.from(windows.name).select('sum', 'late', { as: 'late orders' }).groupByTime().fill(0)))
    .interval(MIN_INTERVAL)
    .unit('short')
    .min(0)
    .decimals(0)
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80)
    .legend(legend())
    .height(7)
    .span(24);
}

function coffeeVariable() {
  return new dashboard.QueryVariableBuilder(COFFEE_VARIABLE)
    .label('Coffee')
    .datasource(INFLUXDB)
    .query(`SHOW TAG VALUES FROM "${coffee.name}" WITH KEY = "${coffee.tag}"`)
    .definition(`SHOW TAG VALUES FROM "${coffee.name}" WITH KEY = "${coffee.tag}"`)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] })
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** The "Coffee orders" dashboard, as Grafana provisions it. */
export function coffeeOrdersDashboard(): dashboard.Dashboard {
  const { ordersPerMinute, drinksPerMinute } = THRESHOLDS;
  const built = cremaDashboard({
    title: 'Coffee orders',
    uid: 'crema-coffee-orders',
    description: 'Orders, drinks and customers per time window, from the Crema pipeline through InfluxDB.',
    tags: ['crema', 'coffee'],
  })
    .withVariable(coffeeVariable())
    .withRow(new dashboard.RowBuilder('Now'))
    .withPanel(currentWindowPanel())
    .withPanel(totalPanel('Orders', 'Orders in the time range.', InfluxQL.from(windows.name).select('sum', 'orders')))
    .withPanel(totalPanel('Drinks', 'Drinks in the time range.', InfluxQL.from(windows.name).select('sum', 'drinks')))
    .withPanel(totalPanel('Late orders', 'Orders counted after their window closed, in the time range.', InfluxQL.from(windows.name).select('sum', 'late')))
    .withRow(new dashboard.RowBuilder('Throughput'))
    .withPanel(ratePanel('Orders per minute', `Dashed lines: the alert thresholds (${ordersPerMinute.low} and ${ordersPerMinute.high} per minute, config/thresholds.json).`, 'orders', ordersPerMinute))
    .withPanel(ratePanel('Drinks per minute', `Dashed lines: the alert thresholds (${drinksPerMinute.low} and ${drinksPerMinute.high} per minute, config/thresholds.json).`, 'drinks', drinksPerMinute))
    .withRow(new dashboard.RowBuilder('What sells'))
    .withPanel(coffeeTypePanel())
    .withPanel(topCoffeesPanel())
    .withRow(new dashboard.RowBuilder('Customers'))
    .withPanel(paymentPanel())
    .withPanel(agePanel())
    .withRow(new dashboard.RowBuilder('Data quality'))
    .withPanel(latePanel())
    .build();
  return numberPanels(built);
}
