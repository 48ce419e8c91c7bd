/** Every provisioned dashboard: its file under {@link DASHBOARD_DIR} and the function that builds it. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { coffeeOrdersDashboard } from './coffee-orders.js';

/** Where the dashboard JSON goes, relative to the repository root (mounted into Grafana). */
export const DASHBOARD_DIR = 'grafana/provisioning/dashboards/crema';

export const DASHBOARDS: readonly { readonly file: string; readonly build: () => Dashboard }[] = [
  { file: 'coffee-orders.json', build: coffeeOrdersDashboard },
];

/** The JSON Grafana provisions, as committed: stable key order, two-space indent, final newline. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
