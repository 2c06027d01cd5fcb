import type { WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** Activity types in the order the workflow scheduled them. */
export function scheduledSteps(history: History): string[] {
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : [],
  );
}

/**
 * Each activity that started, with the attempt its started event records (the server writes
 * one started event per activity, carrying its last attempt), in history order.
 */
export function startedAttempts(history: History): Array<{ step: string; attempt: number }> {
  const typeOf = new Map<string, string>();
  const started: Array<{ step: string; attempt: number }> = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const start = e.activityTaskStartedEventAttributes;
    if (start) started.push({ step: typeOf.get(String(start.scheduledEventId)) ?? '?', attempt: start.attempt ?? 0 });
  }
  return started;
}

/** How many times `step` was tried (its last started attempt), 0 if it never started. */
export function attemptsOf(history: History, step: string): number {
  return Math.max(
    0,
    ...startedAttempts(history)
      .filter((s) => s.step === step)
      .map((s) => s.attempt),
  );
}

/** The task queue the workflow sent the first `step` to (for file steps: the host's own queue). */
export function taskQueueOf(history: History, step: string): string | undefined {
  const scheduled = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === step);
  return scheduled?.activityTaskScheduledEventAttributes?.taskQueue?.name ?? undefined;
}

/** Whether an activity sent to `taskQueue` never completed there (it timed out, failed, was cancelled, or is still open). */
export function leftUnfinishedOn(history: History, taskQueue: string): boolean {
  const completed = new Set(
    (history.events ?? []).flatMap((e) => (e.activityTaskCompletedEventAttributes ? [String(e.activityTaskCompletedEventAttributes.scheduledEventId)] : [])),
  );
  return (history.events ?? []).some((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name === taskQueue && !completed.has(String(e.eventId)));
}
