import { Context } from '@temporalio/activity';

/**
 * Heartbeats `details()` every `everyMs` while `work` runs, so the Web UI shows progress and a
 * dead worker is noticed within the heartbeat timeout. The SDK throttles what it sends.
 * `work` is awaited before anything else is: a step that fails at once (pg_dump missing) must
 * not leave a rejection unhandled for a moment, which Node treats as fatal.
 */
export async function withHeartbeats<T>(details: () => Promise<object> | object, work: Promise<T>, everyMs = 1000): Promise<T> {
  const ctx = Context.current();
  const beat = () => {
    void (async () => ctx.heartbeat(await details()))().catch(() => undefined);
  };
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Rethrows the SDK's cancellation (so the run ends Cancelled) when the activity was cancelled. */
export function throwIfCancelled(): void {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) throw signal.reason;
}
