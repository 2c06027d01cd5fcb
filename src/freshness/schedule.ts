import { ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { FRESHNESS_CATCHUP_WINDOW_MS, type FreshnessScheduleConfig } from '../config/freshness';
import { upsertSchedule, type UpsertOutcome } from '../schedule/upsert';
import { formatAge, type FreshnessInput } from './state';

export function freshnessPurpose(config: FreshnessScheduleConfig): string {
  return `Every ${formatAge(config.intervalMs)}: alert when ${config.environments.map((e) => `"${e}"`).join(', ')} has no successful backup younger than ${config.maxAge} (pg-backup-workflow: checkBackupFreshness on task queue ${config.taskQueue})`;
}

/** The Schedule's desired settings, everything except its id, memo and pause state. */
export function freshnessScheduleSettings(config: FreshnessScheduleConfig) {
  const input: FreshnessInput = { environments: config.environments, maxAgeMs: config.maxAgeMs, maxAge: config.maxAge };
  return {
    spec: { intervals: [{ every: config.intervalMs }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'checkBackupFreshness',
      args: [input],
      // The backup workers' queue by default; a queue of its own for `pg-backup-workflow watchdog` on another host.
      taskQueue: config.taskQueue,
      workflowId: config.scheduleId,
    },
    policies: {
      // One pending check is enough: if no watchdog polls, it waits and runs as soon as one does.
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: FRESHNESS_CATCHUP_WINDOW_MS,
    },
  } satisfies Omit<ScheduleOptions, 'scheduleId'>;
}

export interface FreshnessUpsertOutcome {
  scheduleId: string;
  outcome: UpsertOutcome;
  /** One line for the CLI: `created schedule backup-freshness-check: Every 1h: …`. */
  summary: string;
}

/**
 * Creates the freshness Schedule, or updates it in place (keeping an operator's pause and note).
 * An update keeps the Schedule's last completion result, so the once-per-gap state survives deploys.
 */
export async function upsertFreshnessSchedule(client: Client, config: FreshnessScheduleConfig): Promise<FreshnessUpsertOutcome> {
  let stranded: ScheduleDescription['info']['runningActions'] = [];
  const outcome = await upsertSchedule(client, config.scheduleId, freshnessScheduleSettings(config), {
    memo: { purpose: freshnessPurpose(config) },
    note: 'created by `pg-backup-workflow schedule apply`',
    inspect: (previous) => {
      if (previous.action.type === 'startWorkflow' && previous.action.taskQueue !== config.taskQueue) stranded = previous.info.runningActions;
    },
  });
  // A check waiting on the queue the Schedule just left may wait there forever (nobody polls a
  // retired or mistyped queue), and under SKIP it would block every later check: end it.
  for (const { workflow } of stranded) {
    await client.workflow
      .getHandle(workflow.workflowId, workflow.firstExecutionRunId)
      .terminate(`the freshness check moved to task queue ${config.taskQueue}`)
      .catch(() => undefined); // it may have finished meanwhile
  }
  return { scheduleId: config.scheduleId, outcome, summary: `${outcome} schedule ${config.scheduleId}: ${freshnessPurpose(config)}` };
}
