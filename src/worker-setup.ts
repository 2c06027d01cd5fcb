import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createFileActivities, createSharedActivities } from './activities';
import { createFreshnessActivities } from './activities/freshness';
import { removeStalePartials } from './activities/stale-files';
import type { WorkerConfig } from './config';
import type { WatchdogConfig } from './freshness/config';
import { workflowCode } from './workflow-code';

export interface BackupWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: WorkerConfig;
  /** A pre-built workflow bundle (tests build it once); otherwise see workflowCode(). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /**
   * The freshness check's settings and the client its lookup uses. When the check runs on the
   * shared queue (the default), the shared Worker serves it: no second Worker, no second
   * workflow sandbox.
   */
  freshness?: { config: WatchdogConfig; client: Client };
}

/**
 * One worker process polls two queues: the shared queue (workflows, notifications) and a
 * queue of its own, to which each run it starts sends its file steps, so that dump, compress
 * and stat of one run always happen on the host that holds the file.
 */
export async function createBackupWorkers({ connection, namespace, config, workflowBundle, freshness }: BackupWorkerOptions): Promise<Worker[]> {
  const removed = await removeStalePartials(config.backupDir);
  if (removed.length) console.log(`removed partial files left by a crashed worker in ${config.backupDir}: ${removed.join(', ')}`);
  const shared = await Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...(workflowBundle ? { workflowBundle } : workflowCode()),
    activities: {
      ...createSharedActivities(config),
      ...(freshness?.config.taskQueue === config.taskQueue ? createFreshnessActivities(freshness.config, freshness.client) : {}),
    },
  });
  const host = await Worker.create({
    connection,
    namespace,
    taskQueue: config.hostTaskQueue,
    activities: createFileActivities(config),
    // Backups are I/O- and CPU-heavy: a few at a time per host is plenty (BACKUP_HOST_CONCURRENCY).
    maxConcurrentActivityTaskExecutions: config.hostConcurrency,
    // Heartbeats (progress, and the channel cancellation arrives on) reach the server every
    // 2 s at most, so a cancelled dump stops within seconds, not 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '2s',
  });
  return [shared, host];
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
