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
