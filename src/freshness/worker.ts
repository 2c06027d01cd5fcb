import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createFreshnessActivities } from '../activities/freshness';
import { workflowCode } from '../workflow-code';
import type { WatchdogConfig } from './config';

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
