import type { MetricMeter, MetricTags } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { BACKUP_METRICS, histogramBucketOverrides, recordFailure, recordSuccess } from '../../src/common/backup-metrics';

/** Records what reaches a meter, as [kind, name, value, tags]. */
function recordingMeter() {
  const seen: Array<[string, string, number, MetricTags]> = [];
  const metric = (kind: string, name: string) => {
    const m = {
      name,
      kind,
      valueType: 'int',
      add: (v: number, tags: MetricTags = {}) => seen.push([kind, name, v, tags]),
      record: (v: number, tags: MetricTags = {}) => seen.push([kind, name, v, tags]),
      set: (v: number, tags: MetricTags = {}) => seen.push([kind, name, v, tags]),
      withTags: () => m,
    };
    return m;
  };
  const meter = {
    createCounter: (name: string) => metric('counter', name),
    createHistogram: (name: string) => metric('histogram', name),
    createGauge: (name: string) => metric('gauge', name),
    withTags: () => meter,
  } as unknown as MetricMeter;
  return { meter, seen };
}

describe('backup metrics (pure)', () => {
  it('records a success: run count, duration in seconds, size and the time of the success per label', () => {
    const { meter, seen } = recordingMeter();
    recordSuccess(meter, { environment: 'production', durationMs: 754_000, sizeBytes: 123_456, finishedAtMs: Date.parse('2025-10-22T03:12:34Z') });
    expect(seen).toEqual([
      ['counter', 'pgbackup_runs_total', 1, { environment: 'production', outcome: 'success' }],
      ['histogram', 'pgbackup_duration_seconds', 754, { environment: 'production' }],
      ['gauge', 'pgbackup_size_bytes', 123_456, { environment: 'production' }],
      ['gauge', 'pgbackup_last_success_timestamp_seconds', 1761102754, { environment: 'production' }],
    ]);
  });

  it('records a failure by the step that failed it', () => {
    const { meter, seen } = recordingMeter();
    recordFailure(meter, { environment: 'staging', step: 'verify' });
    recordFailure(meter, { environment: 'staging' });
    expect(seen).toEqual([
      ['counter', 'pgbackup_runs_total', 1, { environment: 'staging', outcome: 'failure' }],
      ['counter', 'pgbackup_step_failures_total', 1, { environment: 'staging', step: 'verify' }],
      ['counter', 'pgbackup_runs_total', 1, { environment: 'staging', outcome: 'failure' }],
      ['counter', 'pgbackup_step_failures_total', 1, { environment: 'staging', step: 'unknown' }],
    ]);
  });

  it('gives the duration histogram buckets from half a minute to eight hours', () => {
    const buckets = histogramBucketOverrides()[BACKUP_METRICS.duration];
    expect(buckets[0]).toBe(30);
    expect(buckets.at(-1)).toBe(8 * 3600);
    expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
  });
});
