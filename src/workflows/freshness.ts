import { ApplicationFailure, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { FreshnessActivities } from '../activities/freshness';
import { innermostMessage } from '../common/errors';
import { labelProblem } from '../common/label';
import {
  alertingAfter,
  alertingLabels,
  assess,
  previousCheckAt,
  type FreshnessInput,
  type FreshnessNotice,
  type FreshnessResult,
  type LabelFreshness,
} from '../freshness/state';

/** How far back completed runs are looked for; older ones show as "never" (Temporal forgets them after retention anyway). */
const MIN_LOOKBACK_MS = 35 * 24 * 3_600_000;

const { findLastBackups } = proxyActivities<FreshnessActivities>({
  startToCloseTimeout: '2m',
  retry: { maximumAttempts: 5, initialInterval: '5s', backoffCoefficient: 2 },
});
const { notifyFreshness } = proxyActivities<FreshnessActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3, initialInterval: '10s', backoffCoefficient: 1 },
});

/**
 * Hourly watchdog: does each label have a SUCCESSFUL backup younger than maxAge? Alerts once
 * per gap and once when it closes. Which gaps were already announced comes from the previous
 * scheduled run's result (`workflowInfo().lastResult`, which the Schedule passes on), so the
 * workflow keeps no state of its own and needs no long-running execution.
 */
export async function checkBackupFreshness(input: FreshnessInput): Promise<FreshnessResult> {
  const bad = input.environments.map(labelProblem).find(Boolean);
  if (bad) throw ApplicationFailure.nonRetryable(bad, 'InvalidEnvironmentLabel');
  if (!(input.maxAgeMs > 0)) throw ApplicationFailure.nonRetryable(`maxAgeMs must be positive, got ${input.maxAgeMs}`, 'InvalidMaxAge');

  const { lastResult } = workflowInfo();
  const wasAlerting = alertingLabels(lastResult);
  const found = await findLastBackups({ environments: input.environments, lookbackMs: Math.max(MIN_LOOKBACK_MS, input.maxAgeMs * 2) });
  // Workflow clock: the time this task runs (so a check that waited for its worker uses "now"), replayed identically.
  const now = Date.now();

  const labels: LabelFreshness[] = [];
  for (const environment of input.environments) {
    const last = found[environment] ?? null;
    const alerting = wasAlerting.has(environment);
    const assessment = assess(environment, last, now, input, alerting);
    const sent = assessment.notice ? await send(assessment.notice) : undefined;
    labels.push({
      environment,
      fresh: assessment.fresh,
      alerting: alertingAfter(alerting, assessment, sent?.status),
      last,
      ...(assessment.ageMs !== undefined ? { ageMs: assessment.ageMs } : {}),
      ...(sent ? { sent } : {}),
    });
  }
  return { checkedAt: new Date(now).toISOString(), previousCheckAt: previousCheckAt(lastResult), maxAgeMs: input.maxAgeMs, labels };
}

/** A Slack failure is recorded, not thrown: the label stays un-announced and the next check tries again. */
async function send(notice: FreshnessNotice): Promise<NonNullable<LabelFreshness['sent']>> {
  try {
    return { kind: notice.kind, ...(await notifyFreshness(notice)) };
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { kind: notice.kind, status: 'failed', error: innermostMessage(err) };
  }
}
