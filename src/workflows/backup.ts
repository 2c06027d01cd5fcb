import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TemporalFailure,
  TimeoutFailure,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertMemo,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { FileActivities, SharedActivities } from '../activities';
import { innermostCause, innermostMessage } from '../common/errors';
import { humanSize } from '../common/human-size';
import { labelProblem } from '../common/label';
import { formatTimestamp } from '../common/timestamp';
import { RunObserver } from './run-observer';
import type {
  ActivityPolicy,
  BackupResult,
  BackupSettings,
  CompressOutput,
  DumpInput,
  DumpOutput,
  NothingFollowed,
  NotificationReport,
  NotifyInput,
  VerifyBesideOutput,
  VerifyOutput,
} from '../common/types';
import type { DiscardRunInput } from '../activities/run-files';

/** How many hosts a run may try before giving up when the one holding its files disappears. */
const MAX_HOSTS = 3;

const { resolveSettings } = proxyLocalActivities<SharedActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5 },
});

/** Versions of this workflow's code (see `patched`): runs recorded before a change replay without it. */
const PATCHES = {
  /** Runs remove what they made when cancelled or failed, and what earlier executions left when they succeed. */
  discardLeftovers: 'discard-leftovers',
  /** A failure before the first step (the worker's settings could not be read) alerts too. */
  alertBeforeFirstStep: 'alert-before-first-step',
  /** A step that fails after the run was cancelled ends the run as cancelled, its cleanup included. */
  failureAfterCancel: 'failure-after-cancel',
} as const;

/** How the failure message is sent when the worker's own policy could not be read. */
const FALLBACK_POLICY: ActivityPolicy = { maximumAttempts: 3, retryIntervalMs: 30_000, startToCloseTimeoutMs: 60_000, heartbeatTimeoutMs: 60_000 };

/**
 * One backup: dump → compress → verify → encrypt → stat → copies → prune on one host, then
 * notify. The only input is the environment label; the database URL is resolved by the
 * worker, so no secret enters history.
 */
export async function backupDatabase(environment: string): Promise<BackupResult> {
  const startedAt = workflowInfo().runStartTime;
  // Current details, step summaries, search attributes and metrics: what the Web UI and Prometheus see of the run.
  const observer = new RunObserver(environment);
  let settings: BackupSettings;
  try {
    settings = await resolveSettings();
  } catch (err) {
    // Every failure alerts, also one before the first step (not a bug in this code: that fails the task, to be fixed and replayed).
    if (err instanceof TemporalFailure && !isCancellation(err) && patched(PATCHES.alertBeforeFirstStep)) {
      observer.failed(err, describe(err), !labelProblem(environment));
      const { notify } = proxyActivities<SharedActivities>(activityOptions(FALLBACK_POLICY));
      await report(notify, { outcome: 'failure', environment: shownLabel(environment), error: `could not read the worker's settings: ${describe(err)}` });
    }
    throw err;
  }
  const { notify } = observer.activities<SharedActivities>(activityOptions(settings.activity));
  // Whether any file step was scheduled: only then can the run have left something on a host.
  let filesTouched = false;

  try {
    const problem = labelProblem(environment);
    if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidEnvironmentLabel');
    observer.started(settings);
    // Visible in workflow lists: lets the freshness check and `npm run backups` find runs by label.
    upsertMemo({ environment });
    const timestamp = formatTimestamp(startedAt, settings.timeZone);
    const lostTaskQueues: string[] = [];

    for (let host = 1; ; host++) {
      try {
        filesTouched = true;
        const file = await backUpOnOneHost(settings, environment, timestamp, host, observer);
        // What the lost host's execution left (on a shared directory) goes now; the backup itself is finished and kept.
        if (lostTaskQueues.length) await discardLeftovers(settings, { keepPublished: true });
        const notification = await report(notify, {
          outcome: 'success',
          environment,
          fileName: file.fileName,
          sizeBytes: file.sizeBytes,
          verification: file.verification,
          copies: file.copies.map((c) => c.target),
        });
        // Workflow clock: deterministic, replays identically.
        const result = { ...file, environment, startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), notification };
        observer.succeeded(result, startedAt);
        return result;
      } catch (err) {
        if (!(err instanceof HostChanged) || host >= MAX_HOSTS) throw err instanceof HostChanged ? err.cause : err;
        log.warn('the host holding this backup stopped serving its task queue; starting the file steps again on another host', {
          lostTaskQueue: settings.hostTaskQueue,
          host,
        });
        lostTaskQueues.push(settings.hostTaskQueue);
        // Recorded in history (and shown in the Web UI) so the move is never silent.
        upsertMemo({ lostTaskQueues });
        settings = err.next;
      }
    }
  } catch (err) {
    // A step can fail rather than report its cancellation (it was stopping when the request came):
    // the run was still cancelled, and must clean up as one. (Before this, the failure alert below
    // could not be scheduled in the cancelled scope, and its CancelledFailure skipped the cleanup.)
    const cancelled = isCancellation(err) || (CancellationScope.current().consideredCancelled && patched(PATCHES.failureAfterCancel));
    if (cancelled) {
      observer.cancelled();
      // Nothing the run made stays, unless it was already a finished backup. No Slack message: cancelling is a person's decision.
      if (filesTouched) await discardLeftovers(settings, { keepPublished: false });
      throw isCancellation(err) ? err : new CancelledFailure('the run was cancelled while a step was failing', [], err instanceof Error ? err : undefined);
    }
    observer.failed(err, describe(err), !labelProblem(environment));
    await report(notify, { outcome: 'failure', environment: shownLabel(environment), error: describe(err) });
    // Partial files, the plain .sql and scratch databases go; a published file stays for inspection.
    if (filesTouched) await discardLeftovers(settings, { keepPublished: true });
    throw err;
  }
}

/**
 * Removes what this run made and no finished backup needs, on the run's host, whatever happens
 * to the run meanwhile (not cancellable). It never changes the run's outcome: what it cannot
 * remove (its host is gone), that host's next start or the next run of the label removes.
 */
async function discardLeftovers(settings: BackupSettings, input: DiscardRunInput): Promise<void> {
  if (!patched(PATCHES.discardLeftovers)) return;
  const { discardRun } = proxyActivities<FileActivities>({
    taskQueue: settings.hostTaskQueue,
    scheduleToStartTimeout: settings.activity.heartbeatTimeoutMs * 2,
    startToCloseTimeout: '5m',
    heartbeatTimeout: settings.activity.heartbeatTimeoutMs,
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
  });
  try {
    await CancellationScope.nonCancellable(() => discardRun(input));
  } catch (err) {
    log.warn('could not remove what the run left; the next worker start or run of this label will', { error: describe(err) });
  }
}

function shownLabel(environment: string): string {
  return labelProblem(environment) ? '(invalid label)' : environment;
}

async function backUpOnOneHost(settings: BackupSettings, environment: string, timestamp: string, host: number, observer: RunObserver) {
  const files = observer.activities<FileActivities>({
    ...activityOptions(settings.activity),
    taskQueue: settings.hostTaskQueue,
    // A host queue nobody polls means the host is gone: notice it instead of waiting forever.
    scheduleToStartTimeout: settings.activity.heartbeatTimeoutMs * 2,
    // On cancel, wait until the step has stopped pg_dump and removed its partial file.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const onHost = <T>(step: () => Promise<T>) => onThisHost(settings.hostTaskQueue, step);
  const dumpInput: DumpInput = { environment, timestamp, ...(host > 1 ? { firstSuffix: host } : {}) };
  const { dumped, compressed, verifiedBeside } = settings.compressWhileDumping
    ? await dumpWhileCompressing(files, onHost, dumpInput, settings.verify && settings.verifyWhileCompressing === true)
    : { ...(await dumpThenCompress(files, onHost, dumpInput)), verifiedBeside: undefined };
  observer.dumped(dumped.database);
  const verification = settings.verify
    ? (verifiedBeside ??
      ((await onHost(() =>
        files.verify({ environment, path: compressed.path, rowCounts: dumped.rowCounts ?? {}, largeObjects: dumped.largeObjects }),
      )) as VerifyOutput))
    : undefined;
  // Encrypt only after verification: the worker holds public keys only, so it could not restore an .age file.
  const final = settings.encrypt ? await onHost(() => files.encrypt({ path: compressed.path, sha256: compressed.sha256 })) : compressed;
  // The roles the database needs travel with it (no passwords): written beside the backup before
  // `stat` declares the backup finished, so a run that ends before then takes them away with it.
  const roles = settings.rolesSidecar ? await onHost(() => files.saveRoles({ environment, path: final.path })) : undefined;
  // The digest of what the last writer wrote (absent from older steps' results: then stat reads the file).
  const written = final.sha256 ? { sha256: final.sha256, sizeBytes: 'bytesOut' in final ? final.bytesOut : final.bytes } : {};
  const stats = await onHost(() => files.stat({ path: final.path, ...written }));
  const copyInput = { path: final.path, checksumPath: stats.checksumPath, sha256: stats.sha256 };
  const copyTo = async (target: (typeof settings.copyTargets)[number]) => {
    const copy = await onHost(() => files[target](copyInput));
    if (roles) await onHost(() => files[target]({ path: roles.path, checksumPath: roles.checksumPath, sha256: roles.sha256 }));
    return copy;
  };
  const copies = await copyEverywhere(settings.copyTargets.map((target) => [target, copyTo(target)] as const));
  // Only reached when every step above succeeded: a failed run never prunes.
  const pruned = settings.prune ? await onHost(() => files.prune({ environment, database: dumped.database, keep: final.fileName })) : undefined;
  return {
    database: dumped.database,
    filePath: final.path,
    fileName: final.fileName,
    sizeBytes: stats.sizeBytes,
    size: humanSize(stats.sizeBytes),
    sha256: stats.sha256,
    checksumPath: stats.checksumPath,
    ...(roles ? { roles: { path: roles.path, fileName: roles.fileName, sha256: roles.sha256, checksumPath: roles.checksumPath } } : {}),
    verification,
    copies,
    pruned,
  };
}

type OnHost = <T>(step: () => Promise<T>) => Promise<T>;

async function dumpThenCompress(files: FileActivities, onHost: OnHost, input: DumpInput) {
  const dumped = await onHost(() => files.dump(input));
  return { dumped, compressed: await compressDump(files, onHost, dumped) };
}

/**
 * Dump and compress at once, and with `verifyBeside` verify too: compress follows pg_dump's
 * file as it grows and verify restores compress's output as it grows, so a backup takes about
 * as long as the slowest of them instead of their sum. They stay separate activities, each with
 * its own retries and progress. A follower that had nothing to follow (its writer had not
 * started, or its attempt failed) says so, and the step runs after, on the finished file, as in
 * the sequential order. A verification counts only for the very file compress returned.
 */
async function dumpWhileCompressing(files: FileActivities, onHost: OnHost, input: DumpInput, verifyBeside: boolean) {
  const dumping = onHost(() => files.dump({ ...input, announce: true }));
  const beside = new CancellationScope();
  // Not wrapped in onThisHost: the dump's own wrapper tells a busy host from a lost one. A
  // follower that cannot start in time (or is cancelled because the dump failed) simply has
  // nothing to follow. Two host checks at once would also race: the dump's could cancel the
  // follower's local activity mid-flight, which the SDK's state machines reject on replay.
  const follow = <T>(step: string, start: () => Promise<T>): Promise<T | NothingFollowed> => {
    const following = beside.run(start).catch((err: unknown): NothingFollowed => {
      if (hostLost(err)) return { followed: false, reason: `${step} could not start on this host in time` };
      if (isCancellation(err)) return { followed: false, reason: 'cancelled with the dump' };
      throw err;
    });
    following.catch(() => undefined); // awaited below; must not count as unhandled while the dump runs
    return following;
  };
  const following = follow('compress', () => files.compress({ whileDumping: true }));
  const verifying = verifyBeside ? follow('verify', () => files.verify({ environment: input.environment, whileCompressing: true })) : undefined;
  // Every step started here has ended before this function does, whatever happens.
  const settled = () => Promise.all([following.catch(() => undefined), verifying?.catch(() => undefined)]);
  let dumped: DumpOutput;
  let compressed: CompressOutput;
  try {
    dumped = await dumping;
    const followed = await following;
    if ('path' in followed && followed.sqlPath === dumped.sqlPath) {
      compressed = followed;
    } else {
      log.info('compressing after the dump', { reason: 'path' in followed ? `it followed an earlier attempt's ${followed.fileName}` : followed.reason });
      compressed = await compressDump(files, onHost, dumped);
    }
  } catch (err) {
    // A verify still beside (following, or waiting for a compress that will not come) ends before the run does.
    beside.cancel();
    await settled();
    throw err;
  }
  // A verification that failed (a mismatch, a corrupt file) fails the run here; the published file stays for inspection.
  const verified = verifying ? ((await verifying) as VerifyBesideOutput | NothingFollowed) : undefined;
  let verifiedBeside: VerifyOutput | undefined;
  if (verified?.followed && verified.path === compressed.path) verifiedBeside = verified.verification;
  else if (verified) log.info('verifying after compress', { reason: verified.followed ? `it verified ${verified.path}` : verified.reason });
  return { dumped, compressed, verifiedBeside };
}

async function compressDump(files: FileActivities, onHost: OnHost, dumped: DumpOutput): Promise<CompressOutput> {
  // Given a finished dump, compress always returns the file (only `whileDumping` can return NothingFollowed).
  return (await onHost(() => files.compress({ sqlPath: dumped.sqlPath }))) as CompressOutput;
}

/**
 * One activity per off-host target, all at once, so one target's outage never holds up
 * another. A copy that still fails after its retries fails the run (nothing is pruned then),
 * saying which targets the backup did reach.
 */
async function copyEverywhere(copies: ReadonlyArray<readonly [string, Promise<BackupResult['copies'][number]>]>): Promise<BackupResult['copies']> {
  const outcomes = await Promise.allSettled(copies.map(([, copy]) => copy));
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ target: copies[i][0], error: o.reason as unknown }] : []));
  const reached = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const moved = failed.find((f) => f.error instanceof HostChanged);
  if (moved) throw moved.error;
  if (failed.length) {
    throw ApplicationFailure.nonRetryable(
      `off-host copy failed: ${failed.map((f) => `${f.target}: ${describe(f.error)}`).join('; ')} ` +
        `(the backup is in BACKUP_DIR${reached.length ? ` and reached ${reached.map((r) => r.target).join(', ')}` : ''})`,
      'CopyFailed',
    );
  }
  return reached;
}

function activityOptions(policy: ActivityPolicy): ActivityOptions {
  return {
    startToCloseTimeout: policy.startToCloseTimeoutMs,
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry: {
      maximumAttempts: policy.maximumAttempts,
      initialInterval: policy.retryIntervalMs,
      maximumInterval: policy.retryIntervalMs,
      backoffCoefficient: 1,
    },
  };
}

/** Sends a notification; its failure is reported in the result, never fails the backup. */
async function report(notify: SharedActivities['notify'], input: NotifyInput): Promise<NotificationReport> {
  try {
    return await notify(input);
  } catch (err) {
    if (isCancellation(err)) throw err;
    return { status: 'failed', error: describe(err) };
  }
}

/** The host holding this run's files is gone; `next` is where the run starts again. */
class HostChanged extends Error {
  constructor(
    readonly next: BackupSettings,
    readonly cause: unknown,
  ) {
    super('the host holding this backup is gone');
  }
}

/**
 * Runs one file step on this run's host. A step that cannot start in time means the host is
 * either gone or busy (all its slots taken by other runs): the worker now handling this
 * workflow tells which. Same queue: the host is alive, so wait for a slot by trying the same
 * step again. Another queue: the host is gone, so the run starts over there.
 */
async function onThisHost<T>(hostTaskQueue: string, step: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (!hostLost(err)) throw err;
      const now = await resolveSettings();
      if (now.hostTaskQueue !== hostTaskQueue) throw new HostChanged(now, err);
      log.info('the host is busy with other backups; waiting for a free slot', { hostTaskQueue });
    }
  }
}

function hostLost(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

/** The innermost message: what actually went wrong, e.g. pg_dump's own words. */
function describe(err: unknown): string {
  const inner = innermostCause(err);
  if (err instanceof ActivityFailure && inner instanceof TimeoutFailure) return `${err.activityType} timed out (${inner.timeoutType ?? 'timeout'})`;
  return innermostMessage(err);
}
