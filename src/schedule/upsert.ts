import { ScheduleAlreadyRunning, type Client, type ScheduleDescription, type ScheduleOptions, type ScheduleUpdateOptions } from '@temporalio/client';

export type UpsertOutcome = 'created' | 'updated';

/**
 * Creates a Schedule, or updates it in place when it exists, keeping an operator's pause and
 * note: re-applying settings on every deploy must never resume a paused schedule. The memo is
 * set at creation only (an update cannot change it). `inspect` sees the settings being replaced.
 */
export async function upsertSchedule(
  client: Client,
  scheduleId: string,
  settings: Omit<ScheduleOptions, 'scheduleId' | 'memo' | 'state'>,
  options: { memo: Record<string, unknown>; note: string; inspect?: (previous: ScheduleDescription) => void },
): Promise<UpsertOutcome> {
  try {
    await client.schedule.create({ scheduleId, ...settings, memo: options.memo, state: { note: options.note } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous: ScheduleDescription): ScheduleUpdateOptions => {
      options.inspect?.(previous);
      return { ...settings, state: { paused: previous.state.paused, note: previous.state.note } } as ScheduleUpdateOptions;
    });
    return 'updated';
  }
}
