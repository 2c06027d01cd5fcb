import { WorkflowFailedError, type Client } from '@temporalio/client';
import { labelProblem } from '../common/label';
import { innermostMessage } from '../common/errors';
import { runMetadata, type RunOrigin } from '../common/run-summary';
import type { BackupResult } from '../common/types';

export interface BackupNowOptions {
  environment: string;
  taskQueue: string;
  /** Defaults to `backup-<label>-manual-<epoch ms>`: same prefix as the scheduled runs, so one query finds both. */
  workflowId?: string;
  /** For the run's summary: the database, when the caller's configuration names it, and the command. */
  database?: string;
  command?: string;
  /** Told the workflow id once the run has started (the wait may be long). */
  onStarted?: (workflowId: string) => void;
}

/** Summary and details of a run started by hand (`backup`, `start`, `dev`). */
export function backupRunMetadata(environment: string, by: { database?: string; command: string }) {
  const origin: RunOrigin = { environment, ...(by.database ? { database: by.database } : {}), startedBy: { command: by.command } };
  return runMetadata(origin);
}

/** A label the workflow would reject anyway; caught before anything is started. */
export class InvalidLabelError extends Error {}

/** The backup ran and failed; the message carries the run's id and the innermost cause. */
export class BackupFailed extends Error {}

/**
 * `pg-backup-workflow backup <label>`: starts backupDatabase outside the Schedule and waits for it.
 * Throws the innermost failure message (e.g. pg_dump's own words) when the backup fails.
 */
export async function backupNow(client: Client, options: BackupNowOptions): Promise<BackupResult> {
  const problem = labelProblem(options.environment);
  if (problem) throw new InvalidLabelError(problem);
  const workflowId = options.workflowId ?? `backup-${options.environment}-manual-${Date.now()}`;
  const handle = await client.workflow.start('backupDatabase', {
    taskQueue: options.taskQueue,
    workflowId,
    args: [options.environment],
    ...backupRunMetadata(options.environment, { database: options.database, command: options.command ?? `pg-backup-workflow backup ${options.environment}` }),
  });
  options.onStarted?.(workflowId);
  try {
    return (await handle.result()) as BackupResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new BackupFailed(`backup ${workflowId} failed: ${innermostMessage(err)}`, { cause: err });
    throw err;
  }
}
