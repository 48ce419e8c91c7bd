/**
 * Data sources the dashboards query. The uid is fixed here and in
 * `grafana/provisioning/datasources/influxdb.yaml`, so provisioned dashboards find their data
 * source on any Grafana.
 */
import type * as common from '@grafana/grafana-foundation-sdk/common';

export const INFLUXDB: common.DataSourceRef = Object.freeze({ type: 'influxdb', uid: 'crema-influxdb' });

/** Prometheus scraping the stages; uid fixed in `grafana/provisioning/datasources/prometheus.yaml`. */
export const PROMETHEUS: common.DataSourceRef = Object.freeze({ type: 'prometheus', uid: 'crema-prometheus' });
