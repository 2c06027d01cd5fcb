import type { Client } from '@temporalio/client';
import { Runtime, type Logger } from '@temporalio/worker';
import { histogramBucketOverrides, recordLastSuccess } from '../common/backup-metrics';
import type { MetricsConfig } from '../config/metrics';
import { newestBackupOfEveryLabel } from '../listing/newest-backups';

/**
 * Installs the SDK's runtime with the Prometheus exporter (BACKUP_METRICS_ADDRESS) and/or a
 * logger. Must run before the process opens any Temporal connection: the runtime is created
 * with the first one and cannot be changed after.
 */
export function installRuntime(options: { metrics?: MetricsConfig; logger?: Logger }): void {
  if (!options.metrics && !options.logger) return;
  Runtime.install({
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.metrics
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.metrics.address, histogramBucketOverrides: histogramBucketOverrides() } } } }
      : {}),
  });
}

/**
 * Sets `pgbackup_last_success_timestamp_seconds` of every label with tagged runs from
 * Temporal's visibility, as a worker starts: the series the workflow sets on each success
 * would otherwise be absent after a restart until the next backup, and an `absent()` alert
 * would fire. Same tags as the workflow's own (namespace, task queue, workflow type), so it is
 * one series. Returns the labels seeded; a failure only costs the seed (logged by the caller).
 */
export async function seedLastSuccess(client: Client, where: { namespace: string; taskQueue: string }): Promise<string[]> {
  const meter = Runtime.instance().metricMeter.withTags({ namespace: where.namespace, taskQueue: where.taskQueue, workflowType: 'backupDatabase' });
  const runs = await newestBackupOfEveryLabel(client);
  for (const run of runs) recordLastSuccess(meter, run.environment!, run.closedAt.getTime());
  return runs.map((r) => r.environment!);
}
