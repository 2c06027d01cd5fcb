import { ActivityFailure, ApplicationFailure, type MetricMeter } from '@temporalio/common';

/**
 * The backup metrics the worker exports for Prometheus, beside the SDK's own `temporal_*`
 * ones. Names follow Prometheus conventions themselves (unit and `_total` in the name), so the
 * exporter runs with its defaults (no unit or `_total` suffixes added). Recorded by workflow
 * code through `metricMeter`, which the SDK skips while replaying, so a run counts once.
 * Every series carries `environment` (the label); the SDK adds namespace, taskQueue and
 * workflowType. Pure module: workflow-safe.
 */
export const BACKUP_METRICS = {
  /** Unix time (seconds) of the newest successful backup: `time() - max by (environment) (...)` is its age. */
  lastSuccess: 'pgbackup_last_success_timestamp_seconds',
  /** Wall time of a successful run, start to finish. */
  duration: 'pgbackup_duration_seconds',
  /** Size of the newest successful backup's final file. */
  size: 'pgbackup_size_bytes',
  /** Finished runs, `outcome` = success | failure. */
  runs: 'pgbackup_runs_total',
  /** Failed runs by the step that failed them (`step` = dump, compress, verify, ...). */
  stepFailures: 'pgbackup_step_failures_total',
} as const;

/** Backups take minutes to hours: the SDK's default buckets (50 ms … 10 s) would put every run in +Inf. */
export const DURATION_BUCKETS_SECONDS = [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];

/** For the Prometheus exporter's `histogramBucketOverrides`. */
export function histogramBucketOverrides(): Record<string, number[]> {
  return { [BACKUP_METRICS.duration]: DURATION_BUCKETS_SECONDS };
}

export interface SuccessfulRun {
  environment: string;
  durationMs: number;
  sizeBytes: number;
  finishedAtMs: number;
}

export function recordSuccess(meter: MetricMeter, run: SuccessfulRun): void {
  const tags = { environment: run.environment };
  meter.createCounter(BACKUP_METRICS.runs, undefined, 'finished backup runs').add(1, { ...tags, outcome: 'success' });
  meter.createHistogram(BACKUP_METRICS.duration, 'float', undefined, 'duration of successful backups').record(run.durationMs / 1000, tags);
  meter.createGauge(BACKUP_METRICS.size, 'int', undefined, 'size of the newest backup file').set(run.sizeBytes, tags);
  recordLastSuccess(meter, run.environment, run.finishedAtMs);
}

/** Also what a worker sets at start from Temporal's visibility, so a restart never leaves the series absent until the next backup. */
export function recordLastSuccess(meter: MetricMeter, environment: string, atMs: number): void {
  meter.createGauge(BACKUP_METRICS.lastSuccess, 'float', undefined, 'unix time of the newest successful backup').set(atMs / 1000, { environment });
}

export function recordFailure(meter: MetricMeter, run: { environment: string; step?: string }): void {
  const tags = { environment: run.environment };
  meter.createCounter(BACKUP_METRICS.runs, undefined, 'finished backup runs').add(1, { ...tags, outcome: 'failure' });
  meter.createCounter(BACKUP_METRICS.stepFailures, undefined, 'failed backup runs by the step that failed').add(1, { ...tags, step: run.step ?? 'unknown' });
}

/** The step a failure came from, for `pgbackup_step_failures_total`: the activity, else what the workflow itself refused. */
export function failedStep(err: unknown): string {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure && e.activityType) return e.activityType;
  }
  const own: Record<string, string> = { InvalidEnvironmentLabel: 'label', CopyFailed: 'copy' };
  return (err instanceof ApplicationFailure && own[err.type ?? '']) || 'workflow';
}
