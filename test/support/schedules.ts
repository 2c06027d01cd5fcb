import type { ScheduleHandle } from '@temporalio/client';

/**
 * Pauses a Schedule and waits until it shows paused with this note. A pause sent right after an
 * update can reach the server's scheduler in the same task as the update, and the update (which
 * carries the state it read before) wins: the schedule comes out active. So: pause, look, and
 * pause again until it holds.
 */
export async function pauseSchedule(handle: ScheduleHandle, note: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await handle.pause(note);
    for (let look = 0; look < 10; look++) {
      const { state } = await handle.describe();
      if (state.paused && state.note === note) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (Date.now() > deadline) throw new Error(`schedule ${handle.scheduleId} did not stay paused`);
  }
}
