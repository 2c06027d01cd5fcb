import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { runMetadata } from '../common/run-summary';
import type { BackupScheduleTarget, ScheduleConfig } from '../config/schedule';
import { upsertSchedule, type UpsertOutcome } from './upsert';

/** What the Schedule is for: shown as its memo (set at creation) and as its calendar's comment. */
export function schedulePurpose(config: ScheduleConfig, target: BackupScheduleTarget): string {
  return `Daily PostgreSQL backup of "${target.environment}" at ${config.time} ${config.timeZone} (pg-backup-workflow: backupDatabase on task queue ${config.taskQueue})`;
}

/** The Schedule's desired settings, everything except its id, memo and pause state. */
export function scheduleSettings(config: ScheduleConfig, target: BackupScheduleTarget) {
  return {
    spec: {
      calendars: [{ hour: config.hour, minute: config.minute, comment: schedulePurpose(config, target) }],
      timezone: config.timeZone,
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'backupDatabase',
      // Only the label: the worker resolves the database URL, so no secret enters the Schedule.
      args: [target.environment],
      taskQueue: config.taskQueue,
      workflowId: target.workflowIdPrefix,
      // What the Web UI shows of each run from its start; the run adds the database and its progress as it goes.
      ...runMetadata({ environment: target.environment, startedBy: { schedule: target.scheduleId, at: `daily at ${config.time} ${config.timeZone}` } }),
    },
    policies: {
      // A backup still running at the next 03:00 means something is wrong; a second dump would only add load.
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: config.catchupWindowMs,
    },
  } satisfies Omit<ScheduleOptions, 'scheduleId'>;
}

/** Creates each configured Schedule, or updates it in place when it exists (keeping an operator's pause and note). */
export async function applyBackupSchedules(client: Client, config: ScheduleConfig): Promise<Array<{ scheduleId: string; outcome: UpsertOutcome }>> {
  const outcomes: Array<{ scheduleId: string; outcome: UpsertOutcome }> = [];
  for (const target of config.targets) {
    // (The memo cannot be changed by an update; the calendar comment carries the current purpose.)
    const outcome = await upsertSchedule(client, target.scheduleId, scheduleSettings(config, target), {
      memo: { purpose: schedulePurpose(config, target), environment: target.environment },
      note: 'created by `pg-backup-workflow schedule apply`',
    });
    outcomes.push({ scheduleId: target.scheduleId, outcome });
  }
  return outcomes;
}

/** Idempotent: running it twice leaves one Schedule per target with the newest settings. Returns their ids. */
export async function upsertBackupSchedules(client: Client, config: ScheduleConfig): Promise<string[]> {
  return (await applyBackupSchedules(client, config)).map((o) => o.scheduleId);
}

export function scheduleHandles(client: Client, config: ScheduleConfig) {
  return config.targets.map((t) => client.schedule.getHandle(t.scheduleId));
}

/**
 * Runs a backup now through the Schedule, so it appears in the Schedule's recent actions.
 * SKIP, the schedule's own policy: a trigger while a run of that schedule is still going is
 * skipped, so two backups of one label never compete. `npm run backup:now` starts a separate run.
 */
export async function triggerBackupSchedules(client: Client, config: ScheduleConfig): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.trigger(ScheduleOverlapPolicy.SKIP);
}

/** The note is shown in the UI and `describe`: say why, e.g. "database migration until 14:00". */
export async function pauseBackupSchedules(client: Client, config: ScheduleConfig, note?: string): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.pause(note ?? 'paused with `pg-backup-workflow schedule pause`');
}

export async function unpauseBackupSchedules(client: Client, config: ScheduleConfig, note?: string): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.unpause(note ?? 'unpaused with `pg-backup-workflow schedule unpause`');
}

export async function deleteBackupSchedules(client: Client, config: ScheduleConfig): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.delete();
}
