/** Panel ids: the builders leave them unset, and Grafana links and alerts need stable ones. */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** Numbers the panels (rows included) 1, 2, … in layout order. */
export function numberPanels(dashboard: Dashboard): Dashboard {
  (dashboard.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}
