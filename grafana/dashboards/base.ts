/** What every Crema dashboard shares: time range, refresh, browser time zone, crosshair, read-only. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

export function cremaDashboard(options: { title: string; uid: string; description: string; tags: string[] }): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(options.title)
    .uid(options.uid)
    .description(options.description)
    .tags(options.tags)
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .refresh('10s')
    .timepicker(new dashboard.TimePickerBuilder().refreshIntervals(['5s', '10s', '30s', '1m', '5m', '15m']))
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .readonly();
}
