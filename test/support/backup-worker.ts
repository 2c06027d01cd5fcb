import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config';
import { createBackupWorkers, runWorkers } from '../../src/temporal/workers';

export interface TestWorker {
  client: Client;
  config: WorkerConfig;
  backupDir: string;
  workers: Worker[];
  stop(): Promise<void>;
}

/**
 * A real backup worker against the shared dev server, configured exactly as production is:
 * through environment variables (here with short retry intervals), on a task queue of its own.
 */
export async function startTestWorker(env: Record<string, string | undefined>, options: { address?: string; namespace?: string } = {}): Promise<TestWorker> {
  const backupDir = env.BACKUP_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-backups-'));
  const config = loadWorkerConfig({
    BACKUP_TASK_QUEUE: `test-${randomUUID().slice(0, 8)}`,
    BACKUP_RETRY_INTERVAL: '1s',
    BACKUP_HEARTBEAT_TIMEOUT: '10s',
    BACKUP_ACTIVITY_TIMEOUT: '60s',
    PATH: process.env.PATH,
    ...env,
    BACKUP_DIR: backupDir,
  });
  const address = options.address ?? inject('temporalAddress');
  const nativeConnection = await NativeConnection.connect({ address });
  const namespace = options.namespace ?? 'default';
  const workers = await createBackupWorkers({
    connection: nativeConnection,
    namespace,
    config,
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  const running = runWorkers(workers);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    client,
    config,
    backupDir,
    workers,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    },
  };
}

/** Starts backupDatabase(label) on the worker's queue and returns its handle. */
export async function startBackup(worker: TestWorker, label: string) {
  return worker.client.workflow.start('backupDatabase', {
    taskQueue: worker.config.taskQueue,
    workflowId: `test-backup-${label.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)}-${randomUUID()}`,
    args: [label],
  });
}

/** The files a finished backup consists of: the backup, its roles sidecar, and the `.sha256` of each, sorted. */
export function backupFiles(result: { fileName: string; roles?: { fileName: string } }): string[] {
  const roles = result.roles ? [result.roles.fileName, `${result.roles.fileName}.sha256`] : [];
  return [result.fileName, `${result.fileName}.sha256`, ...roles].sort();
}
