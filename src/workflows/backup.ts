import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  log,
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
} from '../common/types';

/** How many hosts a run may try before giving up when the one holding its files disappears. */
const MAX_HOSTS = 3;

const { resolveSettings } = proxyLocalActivities<SharedActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5 },
});

/**
 * One backup: dump → compress → verify → encrypt → stat → copies → prune on one host, then
 * notify. The only input is the environment label; the database URL is resolved by the
 * worker, so no secret enters history.
 */
export async function backupDatabase(environment: string): Promise<BackupResult> {
  const startedAt = workflowInfo().runStartTime;
  // Current details, step summaries, search attributes and metrics: what the Web UI and Prometheus see of the run.
  const observer = new RunObserver(environment);
  let settings = await resolveSettings();
  const { notify } = observer.activities<SharedActivities>(activityOptions(settings.activity));

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
        const file = await backUpOnOneHost(settings, environment, timestamp, host, observer);
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
    if (isCancellation(err)) {
      observer.cancelled();
      throw err;
    }
    observer.failed(err, describe(err), !labelProblem(environment));
    await report(notify, { outcome: 'failure', environment: labelProblem(environment) ? '(invalid label)' : environment, error: describe(err) });
    throw err;
  }
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
  const { dumped, compressed } = settings.compressWhileDumping
    ? await dumpWhileCompressing(files, onHost, dumpInput)
    : await dumpThenCompress(files, onHost, dumpInput);
  observer.dumped(dumped.database);
  const verification = settings.verify
    ? await onHost(() => files.verify({ environment, path: compressed.path, rowCounts: dumped.rowCounts ?? {} }))
    : undefined;
  // Encrypt only after verification: the worker holds public keys only, so it could not restore an .age file.
  const final = settings.encrypt ? await onHost(() => files.encrypt({ path: compressed.path })) : compressed;
  const stats = await onHost(() => files.stat({ path: final.path }));
  const copyInput = { path: final.path, checksumPath: stats.checksumPath, sha256: stats.sha256 };
  const copies = await copyEverywhere(settings.copyTargets.map((target) => [target, onHost(() => files[target](copyInput))] as const));
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
 * Dump and compress at once: compress follows pg_dump's file as it grows, so a backup takes
 * about as long as the slower of the two instead of their sum. They stay two activities, each
 * with its own retries and progress. A compress that had nothing to follow (the dump had not
 * started, or its attempt failed) says so, and the dump that finally succeeded is compressed
 * after it, as in the sequential order.
 */
async function dumpWhileCompressing(files: FileActivities, onHost: OnHost, input: DumpInput) {
  const dumping = onHost(() => files.dump({ ...input, announce: true }));
  const beside = new CancellationScope();
  // Not wrapped in onThisHost: the dump's own wrapper tells a busy host from a lost one. A
  // follower that cannot start in time (or is cancelled because the dump failed) simply has
  // nothing to follow. Two host checks at once would also race: the dump's could cancel the
  // follower's local activity mid-flight, which the SDK's state machines reject on replay.
  const following: Promise<CompressOutput | NothingFollowed> = beside
    .run(() => files.compress({ whileDumping: true }))
    .catch((err: unknown) => {
      if (hostLost(err)) return { followed: false, reason: 'compress could not start on this host in time' };
      if (isCancellation(err)) return { followed: false, reason: 'cancelled with the dump' };
      throw err;
    });
  following.catch(() => undefined); // awaited below; must not count as unhandled while the dump runs
  let dumped: DumpOutput;
  try {
    dumped = await dumping;
  } catch (err) {
    beside.cancel();
    await following.catch(() => undefined);
    throw err;
  }
  const followed = await following;
  if ('path' in followed && followed.sqlPath === dumped.sqlPath) return { dumped, compressed: followed };
  log.info('compressing after the dump', { reason: 'path' in followed ? `it followed an earlier attempt's ${followed.fileName}` : followed.reason });
  return { dumped, compressed: await compressDump(files, onHost, dumped) };
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
