import type { Client, ScheduleDescription } from '@temporalio/client';
import { localTime } from '../common/time-format';
import type { ScheduleConfig } from '../config/schedule';
import { scheduleHandles } from './manage';

export interface RecentRun {
  scheduledAt: Date;
  workflowId: string;
  runId: string;
  /** RUNNING, COMPLETED, FAILED, ... or UNKNOWN when the run's history is gone (retention). */
  status: string;
}

export interface ScheduleReport {
  scheduleId: string;
  description: ScheduleDescription;
  recentRuns: RecentRun[];
}

/** Each configured Schedule's description, with the outcome of its recent runs looked up. */
export async function describeBackupSchedules(client: Client, config: ScheduleConfig): Promise<ScheduleReport[]> {
  const reports: ScheduleReport[] = [];
  for (const handle of scheduleHandles(client, config)) {
    const description = await handle.describe();
    const recentRuns = await Promise.all(
      description.info.recentActions.map(async ({ scheduledAt, action }) => {
        const { workflowId, firstExecutionRunId: runId } = action.workflow;
        const status = await client.workflow
          .getHandle(workflowId, runId)
          .describe()
          .then((d) => d.status.name)
          .catch(() => 'UNKNOWN');
        return { scheduledAt, workflowId, runId, status };
      }),
    );
    reports.push({ scheduleId: handle.scheduleId, description, recentRuns });
  }
  return reports;
}

/** Human-readable text for `pg-backup-workflow schedule describe`. */
export function formatScheduleReport({ scheduleId, description: d, recentRuns }: ScheduleReport): string {
  const zone = d.spec.timezone ?? 'UTC';
  const calendars = (d.spec.calendars ?? []).map((c) => `${pad(c.hour[0]?.start)}:${pad(c.minute[0]?.start)}`);
  const action = d.action.type === 'startWorkflow' ? d.action : undefined;
  const lines = [
    `schedule ${scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (note: ${d.state.note})` : ''}`,
    `  runs:        daily at ${calendars.join(', ') || '?'} ${zone}`,
    `  action:      ${action?.workflowType}(${(action?.args ?? []).map((a) => JSON.stringify(a)).join(', ')}) on task queue ${action?.taskQueue}, workflow id ${action?.workflowId}-<time>`,
    `  policies:    overlap ${d.policies.overlap}, catch-up window ${humanDuration(d.policies.catchupWindow)}`,
    `  taken:       ${d.info.numActionsTaken} run(s); ${d.info.numActionsSkippedOverlap} skipped (overlap); ${d.info.numActionsMissedCatchupWindow} missed (catch-up window)`,
    `  next runs:   ${d.state.paused ? '(skipped while paused) ' : ''}${d.info.nextActionTimes
      .slice(0, 3)
      .map((t) => inZone(t, zone))
      .join(' | ')}`,
    `  recent runs:${recentRuns.length ? '' : ' none yet'}`,
    ...recentRuns.map((r) => `    ${inZone(r.scheduledAt, zone)}  ${r.status.padEnd(10)} ${r.workflowId}`),
  ];
  return lines.join('\n');
}

/** "2025-10-21 03:00 Europe/Berlin (2025-10-21T01:00:00.000Z)": local time first, as operators think in it. */
function inZone(instant: Date, timeZone: string): string {
  return `${localTime(instant, timeZone)} (${instant.toISOString()})`;
}

function pad(n: number | undefined): string {
  return n === undefined ? '??' : String(n).padStart(2, '0');
}

function humanDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** `schedule describe --json`: the same facts as the text, as data. */
export function scheduleReportJson({ scheduleId, description: d, recentRuns }: ScheduleReport) {
  const action = d.action.type === 'startWorkflow' ? d.action : undefined;
  return {
    scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    calendars: (d.spec.calendars ?? []).map((c) => ({ hour: c.hour[0]?.start ?? null, minute: c.minute[0]?.start ?? null })),
    timeZone: d.spec.timezone ?? 'UTC',
    action: action ? { workflowType: action.workflowType, args: action.args ?? [], taskQueue: action.taskQueue, workflowIdPrefix: action.workflowId } : null,
    policies: { overlap: d.policies.overlap, catchupWindowMs: d.policies.catchupWindow },
    actions: { taken: d.info.numActionsTaken, skippedOverlap: d.info.numActionsSkippedOverlap, missedCatchupWindow: d.info.numActionsMissedCatchupWindow },
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentRuns: recentRuns.map((r) => ({ scheduledAt: r.scheduledAt.toISOString(), workflowId: r.workflowId, runId: r.runId, status: r.status })),
  };
}
