import type { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { describeProgress, estimateProgress, formatRemaining, observe, startThroughput, type Throughput } from '../common/progress-estimate';
import { PROGRESS_SIGNAL, bytesOfStep, type StepProgress } from '../common/progress-signal';
import { DEFAULT_REPORT_POLICY, shouldReport, type LastReport, type ReportPolicy } from '../common/report-throttle';

/** Adds percent and time left to a step's heartbeat details, and passes them on to the workflow now and then. */
export type ProgressEnricher = (ctx: Context, details: object) => object;

export interface ProgressReporting {
  /** Signals the step's own workflow; without one, only the heartbeat details get percent and time left. */
  client?: Client;
  /** For the clock time in `(around 03:14 UTC)`. */
  timeZone: string;
  /** BACKUP_PROGRESS_INTERVAL: at most one signal per step this often. */
  minIntervalMs?: number;
  now?: () => number;
}

interface StepState {
  key: string;
  throughput: Throughput;
  last: LastReport;
}

/**
 * Each beat (every second) folds the step's byte count into a smoothed rate and gives the
 * heartbeat `percent` and `remaining`; the Web UI shows them under the pending activity. The
 * workflow's current details hear of it through a signal only when the percent crosses a 5%
 * step, at most every `minIntervalMs` and at least every 5 minutes: each signal costs the run's
 * history a few events. Nothing is sent before the step has run for `minIntervalMs`, so short
 * steps send nothing (the workflow already says which step runs).
 */
export function makeProgressEnricher(reporting: ProgressReporting): ProgressEnricher {
  const states = new WeakMap<Context, StepState>();
  const minIntervalMs = reporting.minIntervalMs ?? DEFAULT_REPORT_POLICY.minIntervalMs;
  const policy: ReportPolicy = { ...DEFAULT_REPORT_POLICY, minIntervalMs, maxSilenceMs: Math.max(DEFAULT_REPORT_POLICY.maxSilenceMs, minIntervalMs) };
  const now = reporting.now ?? Date.now;

  return (ctx, details) => {
    const bytes = bytesOfStep(details as Record<string, unknown>);
    if (!bytes) return details;
    const at = now();
    const key = `${ctx.info.activityType}/${bytes.phase}`;
    let state = states.get(ctx);
    // A new phase (a copy's read-back) or fewer bytes than before (a restarted read) starts the estimate again.
    if (!state || state.key !== key || bytes.done < state.throughput.bytes) {
      state = { key, throughput: startThroughput(at, bytes.done), last: { atMs: at } };
      states.set(ctx, state);
    }
    state.throughput = observe(state.throughput, at, bytes.done);
    const estimate = estimateProgress(state.throughput, bytes.expected);
    const enriched = {
      ...details,
      ...(estimate.percent !== undefined ? { percent: estimate.percent } : {}),
      ...(estimate.remainingMs !== undefined ? { remaining: formatRemaining(estimate.remainingMs) } : {}),
    };
    const run = ctx.info.workflowExecution;
    if (reporting.client && run && shouldReport(state.last, at, estimate.percent, policy)) {
      state.last = { atMs: at, percent: estimate.percent };
      const step = ctx.info.activityType;
      let text = describeProgress(step, estimate, { expectedIsEstimate: bytes.estimate });
      if (estimate.remainingMs !== undefined) text += ` (around ${clockTime(at + estimate.remainingMs, reporting.timeZone)})`;
      const database = (details as { database?: unknown }).database;
      const progress: StepProgress = {
        step,
        text,
        ...(estimate.percent !== undefined ? { percent: estimate.percent } : {}),
        ...(estimate.remainingMs !== undefined ? { remainingMs: estimate.remainingMs } : {}),
        ...(typeof database === 'string' ? { database } : {}),
      };
      // Fire and forget: a lost report only leaves the details a little older; it must never fail or slow the step.
      void reporting.client.workflow
        .getHandle(run.workflowId, run.runId)
        .signal(PROGRESS_SIGNAL, progress)
        .catch(() => undefined);
    }
    return enriched;
  };
}

/** `03:14 UTC`, `14:02 Europe/Berlin`. */
function clockTime(ms: number, timeZone: string): string {
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  return `${time} ${timeZone}`;
}
