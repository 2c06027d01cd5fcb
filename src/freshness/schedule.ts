import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { FRESHNESS_CATCHUP_WINDOW_MS, type FreshnessScheduleConfig } from './config';
import { formatAge, type FreshnessInput } from './state';

export { loadFreshnessScheduleConfig } from './config';
export type { FreshnessScheduleConfig } from './config';

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
      // Its own queue, served by `npm run watchdog`, ideally on another host than the backup workers.
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
  outcome: 'created' | 'updated';
  /** One line for the CLI: `created schedule backup-freshness-check: Every 1h: …`. */
  summary: string;
}

/**
 * Creates the freshness Schedule, or updates it in place (keeping an operator's pause and note).
 * An update keeps the Schedule's last completion result, so the once-per-gap state survives deploys.
 */
export async function upsertFreshnessSchedule(client: Client, config: FreshnessScheduleConfig): Promise<FreshnessUpsertOutcome> {
  const settings = freshnessScheduleSettings(config);
  let outcome: FreshnessUpsertOutcome['outcome'] = 'created';
  try {
    await client.schedule.create({
      scheduleId: config.scheduleId,
      ...settings,
      memo: { purpose: freshnessPurpose(config) },
      state: { note: 'created by `npm run schedule`' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    let stranded: ScheduleDescription['info']['runningActions'] = [];
    await client.schedule.getHandle(config.scheduleId).update((previous: ScheduleDescription): ScheduleUpdateOptions => {
      if (previous.action.type === 'startWorkflow' && previous.action.taskQueue !== config.taskQueue) stranded = previous.info.runningActions;
      return { ...settings, state: { paused: previous.state.paused, note: previous.state.note } };
    });
    // A check waiting on the queue the Schedule just left may wait there forever (nobody polls a
    // retired or mistyped queue), and under SKIP it would block every later check: end it.
    for (const { workflow } of stranded) {
      await client.workflow
        .getHandle(workflow.workflowId, workflow.firstExecutionRunId)
        .terminate(`the freshness check moved to task queue ${config.taskQueue}`)
        .catch(() => undefined); // it may have finished meanwhile
    }
    outcome = 'updated';
  }
  return { scheduleId: config.scheduleId, outcome, summary: `${outcome} schedule ${config.scheduleId}: ${freshnessPurpose(config)}` };
}
