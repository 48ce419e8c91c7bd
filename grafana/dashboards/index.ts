/**
 * Every provisioned dashboard: its file under {@link DASHBOARD_DIR}, the function that builds it and
 * the data source all its panels query.
 */
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUXDB, PROMETHEUS } from '../datasources.js';
import { coffeeOrdersDashboard } from './coffee-orders.js';
import { pipelineHealthDashboard } from './pipeline-health.js';

/** Where the dashboard JSON goes, relative to the repository root (mounted into Grafana). */
export const DASHBOARD_DIR = 'grafana/provisioning/dashboards/crema';

export const DASHBOARDS: readonly { readonly file: string; readonly build: () => Dashboard; readonly datasource: DataSourceRef }[] = [
  { file: 'coffee-orders.json', build: coffeeOrdersDashboard, datasource: INFLUXDB },
  { file: 'pipeline-health.json', build: pipelineHealthDashboard, datasource: PROMETHEUS },
];

/** The JSON Grafana provisions, as committed: stable key order, two-space indent, final newline. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
