import { Context } from '@temporalio/activity';
import type { ProgressEnricher } from './progress-report';

type Details = () => Promise<object> | object;

/** What each running activity reports, and the last details that could be read. */
const reporters = new WeakMap<Context, Details>();
const lastSent = new WeakMap<Context, object>();
const ticking = new WeakSet<Context>();
/** Adds percent and time left (see progress-report), for the activities `heartbeating` wraps with one. */
const enrichers = new WeakMap<Context, ProgressEnricher>();

function beat(ctx: Context): void {
  void (async () => {
    let details = lastSent.get(ctx) ?? { step: ctx.info.activityType };
    try {
      details = (await reporters.get(ctx)?.()) ?? details;
      details = enrichers.get(ctx)?.(ctx, details) ?? details;
      lastSent.set(ctx, details);
    } catch {
      /* e.g. the file was just closed: send the last details again */
    }
    ctx.heartbeat(details);
  })().catch(() => undefined);
}

/**
 * Wraps an activity so it heartbeats every second for its whole life, not only while bytes
 * flow: psql building indexes after the last byte, CREATE DATABASE, counting rows and fsync
 * can each outlast the heartbeat timeout, which would fail a healthy step and, without
 * heartbeats, leave cancellation undelivered. The SDK throttles what reaches the server.
 */
export function heartbeating<A extends unknown[], R>(activity: (...args: A) => Promise<R>, enrich?: ProgressEnricher): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const ctx = Context.current();
    ticking.add(ctx);
    if (enrich) enrichers.set(ctx, enrich);
    beat(ctx);
    const timer = setInterval(() => beat(ctx), 1000);
    try {
      return await activity(...args);
    } catch (err) {
      // A step stopped by its cancellation (its pg_dump or psql killed) reports the cancellation, whatever error the stop caused.
      throwIfCancelled();
      throw err;
    } finally {
      clearInterval(timer);
      ticking.delete(ctx);
    }
  };
}

/**
 * Reports `details()` as this step's progress while `work` runs (the Web UI shows it under the
 * pending activity). `work` is awaited before anything else is: a step that fails at once
 * (pg_dump missing) must not leave a rejection unhandled for a moment, which Node treats as
 * fatal. Outside `heartbeating` (a bare activity in a unit test) it ticks on its own.
 */
export async function withHeartbeats<T>(details: Details, work: Promise<T>, everyMs = 1000): Promise<T> {
  const ctx = Context.current();
  reporters.set(ctx, details);
  const ownTimer = ticking.has(ctx) ? undefined : setInterval(() => beat(ctx), everyMs);
  if (ownTimer) beat(ctx);
  try {
    return await work;
  } finally {
    clearInterval(ownTimer);
  }
}

/** Rethrows the SDK's cancellation (so the run ends Cancelled) when the activity was cancelled. */
export function throwIfCancelled(): void {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) throw signal.reason;
}
