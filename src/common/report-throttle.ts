/**
 * When a running step should send its progress on to the workflow. Each report costs the
 * workflow's history about four events (the signal and the workflow task it wakes), so a
 * report goes out when the percent shown crosses a step, never more often than
 * `minIntervalMs`, and at least every `maxSilenceMs` so the time left stays fresh. A ten-minute
 * dump then sends about twenty. Pure: the caller keeps the last report and owns the clock.
 */

export interface ReportPolicy {
  minIntervalMs: number;
  /** Report when the percent crosses a multiple of this. */
  percentStep: number;
  maxSilenceMs: number;
}

export const DEFAULT_REPORT_POLICY: ReportPolicy = { minIntervalMs: 30_000, percentStep: 5, maxSilenceMs: 5 * 60_000 };

export interface LastReport {
  atMs: number;
  percent?: number;
}

export function shouldReport(last: LastReport | undefined, nowMs: number, percent: number | undefined, policy: ReportPolicy = DEFAULT_REPORT_POLICY): boolean {
  if (!last) return true;
  const since = nowMs - last.atMs;
  if (since < policy.minIntervalMs) return false;
  if (since >= policy.maxSilenceMs) return true;
  if (percent === undefined || last.percent === undefined) return percent !== last.percent;
  return Math.floor(percent / policy.percentStep) !== Math.floor(last.percent / policy.percentStep);
}
