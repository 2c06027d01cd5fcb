import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createFileActivities, createSharedActivities } from '../activities';
import { createFreshnessActivities } from '../activities/freshness';
import type { WorkerConfig } from '../config';
import type { WatchdogConfig } from '../config/freshness';
import { leftoverOptions } from '../activities/run-files';
import { removeLeftovers } from '../files/leftovers';
import { SearchAttributeGate } from './search-attribute-gate';
import { workflowCode } from './workflow-code';

export interface BackupWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: WorkerConfig;
  /** A pre-built workflow bundle (tests build it once); otherwise see workflowCode(). */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * One worker process polls two queues: the shared queue (workflows, notifications) and a
 * queue of its own, to which each run it starts sends its file steps, so that dump, compress
 * and stat of one run always happen on the host that holds the file. A separate freshness
 * queue (BACKUP_WATCHDOG_TASK_QUEUE) is served too, unless BACKUP_WATCHDOG=false.
 */
export async function createBackupWorkers({ connection, namespace, config, workflowBundle }: BackupWorkerOptions): Promise<Worker[]> {
  // The freshness lookup's and the cleanups' client calls go over the worker's own connection: no second one.
  const client = new Client({ connection, namespace });
  await removeWhatCrashedRunsLeft(config, client);
  // Runs tag themselves only where the namespace has the attributes; a warning here says how to create them.
  const searchAttributes = new SearchAttributeGate(client, namespace);
  await searchAttributes.allowsUpserts();
  const watchdog: WatchdogConfig = { taskQueue: config.taskQueue, slackWebhookUrl: config.slackWebhookUrl, timeZone: config.timeZone };
  const shared = await Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...(workflowBundle ? { workflowBundle } : workflowCode()),
    activities: {
      ...createSharedActivities(config, searchAttributes),
      // The freshness check runs on this queue by default: every worker here serves its steps,
      // so none fails a check it picks up, and no second Worker (with a workflow sandbox of its
      // own) is needed for it.
      ...createFreshnessActivities(watchdog, client),
    },
  });
  const host = await Worker.create({
    connection,
    namespace,
    taskQueue: config.hostTaskQueue,
    activities: createFileActivities(config, client),
    // Backups are I/O- and CPU-heavy: a few at a time per host is plenty (BACKUP_HOST_CONCURRENCY).
    maxConcurrentActivityTaskExecutions: config.hostConcurrency,
    // Heartbeats (progress, and the channel cancellation arrives on) reach the server every
    // 2 s at most, so a cancelled dump stops within seconds, not 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '2s',
  });
  const workers = [shared, host];
  if (config.watchdogTaskQueue) {
    workers.push(await createWatchdogWorker({ connection, namespace, config: { ...watchdog, taskQueue: config.watchdogTaskQueue }, client, workflowBundle }));
  }
  return workers;
}

export interface WatchdogWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: WatchdogConfig;
  /** Client the lookup activity lists backup runs with (same server and namespace). */
  client: Client;
  /** A pre-built bundle (tests); otherwise see workflowCode(). */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** The watchdog: a small worker on its own task queue, so it can live on another host than the backups it watches. */
export function createWatchdogWorker({ connection, namespace, config, client, workflowBundle }: WatchdogWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...(workflowBundle ? { workflowBundle } : workflowCode()),
    activities: createFreshnessActivities(config, client),
    maxConcurrentActivityTaskExecutions: 2,
  });
}

/**
 * At start, what crashed workers of this host, or runs Temporal says are over, left in the
 * backup and copy directories: judged by their records, so another host's live files on a
 * shared directory are never touched.
 */
async function removeWhatCrashedRunsLeft(config: WorkerConfig, client: Client): Promise<void> {
  const options = leftoverOptions(config, client);
  for (const dir of [config.backupDir, ...(config.copies.localDir ? [config.copies.localDir] : [])]) {
    const report = await removeLeftovers(dir, options).catch((err: Error) => {
      console.warn(`could not look for leftovers in ${dir}: ${err.message}`);
      return undefined;
    });
    if (report?.removed.length || report?.droppedDatabases.length) {
      console.log(`removed what crashed or finished runs left in ${dir}: ${[...report.removed, ...report.droppedDatabases].join(', ')}`);
    }
  }
}

/** Runs the workers until one stops or fails; shuts the others down with it. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const runs = workers.map((w) => w.run());
  try {
    await Promise.race(runs);
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
  }
}
