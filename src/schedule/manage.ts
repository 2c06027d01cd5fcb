import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { BackupScheduleTarget, ScheduleConfig } from './config';

export { loadScheduleConfig } from './config';
export type { BackupScheduleTarget, ScheduleConfig } from './config';

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
    },
    policies: {
      // A backup still running at the next 03:00 means something is wrong; a second dump would only add load.
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: config.catchupWindowMs,
    },
  } satisfies Omit<ScheduleOptions, 'scheduleId'>;
}

export type UpsertOutcome = { scheduleId: string; outcome: 'created' | 'updated' };

/** Creates each configured Schedule, or updates it in place when it exists. */
export async function applyBackupSchedules(client: Client, config: ScheduleConfig): Promise<UpsertOutcome[]> {
  const outcomes: UpsertOutcome[] = [];
  for (const target of config.targets) {
    const settings = scheduleSettings(config, target);
    try {
      await client.schedule.create({
        scheduleId: target.scheduleId,
        ...settings,
        memo: { purpose: schedulePurpose(config, target), environment: target.environment },
        state: { note: 'created by `npm run schedule`' },
      });
      outcomes.push({ scheduleId: target.scheduleId, outcome: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      // Keep the operator's pause and note: re-applying settings must not resume a paused backup.
      // (The memo cannot be changed by an update; the calendar comment carries the current purpose.)
      await client.schedule.getHandle(target.scheduleId).update((previous: ScheduleDescription): ScheduleUpdateOptions => ({
        ...settings,
        state: { paused: previous.state.paused, note: previous.state.note },
      }));
      outcomes.push({ scheduleId: target.scheduleId, outcome: 'updated' });
    }
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
  for (const handle of scheduleHandles(client, config)) await handle.pause(note ?? 'paused with `npm run schedule -- pause`');
}

export async function unpauseBackupSchedules(client: Client, config: ScheduleConfig, note?: string): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.unpause(note ?? 'unpaused with `npm run schedule -- unpause`');
}

export async function deleteBackupSchedules(client: Client, config: ScheduleConfig): Promise<void> {
  for (const handle of scheduleHandles(client, config)) await handle.delete();
}
