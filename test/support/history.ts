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
  const typeOf = activityTypes(history);
  return (history.events ?? []).flatMap((e) => {
    const start = e.activityTaskStartedEventAttributes;
    return start ? [{ step: typeOf.get(String(start.scheduledEventId)) ?? '?', attempt: start.attempt ?? 0 }] : [];
  });
}

/** Each activity's type, by the id of the event that scheduled it (what its later events refer to). */
function activityTypes(history: History): Map<string, string> {
  return new Map(
    (history.events ?? []).flatMap((e) =>
      e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '']] : [],
    ),
  );
}

/** Whether a `step` activity completed. */
export function completedStep(history: History, step: string): boolean {
  const typeOf = activityTypes(history);
  return (history.events ?? []).some(
    (e) => e.activityTaskCompletedEventAttributes && typeOf.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)) === step,
  );
}

/** One line per event, for a failing assertion's message: its kind, the activity it concerns, a failure's message. */
export function historyStory(history: History): string {
  const typeOf = activityTypes(history);
  return (history.events ?? [])
    .map((e) => {
      const ref =
        e.activityTaskStartedEventAttributes?.scheduledEventId ??
        e.activityTaskCompletedEventAttributes?.scheduledEventId ??
        e.activityTaskFailedEventAttributes?.scheduledEventId ??
        e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
        e.activityTaskCanceledEventAttributes?.scheduledEventId;
      const activity = typeOf.get(String(ref ?? e.eventId));
      const failure = e.activityTaskFailedEventAttributes?.failure?.message ?? e.activityTaskTimedOutEventAttributes?.failure?.message;
      const kind = Object.keys(e)
        .find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k])
        ?.replace(/EventAttributes$/, '');
      return `${e.eventId} ${kind ?? e.eventType}${activity ? ` ${activity}` : ''}${failure ? `: ${failure}` : ''}`;
    })
    .join('\n');
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
