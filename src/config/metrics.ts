import { option, type Env } from './registry';

/** Prometheus metrics of a worker process; undefined means off (the default). */
export interface MetricsConfig {
  /** `host:port` the exporter listens on (BACKUP_METRICS_ADDRESS). */
  address: string;
}

export function loadMetricsConfig(env: Env): MetricsConfig | undefined {
  const address = option(env, 'BACKUP_METRICS_ADDRESS');
  return address ? { address } : undefined;
}
