import { WorkflowFailedError, type Client } from '@temporalio/client';
import { labelProblem } from '../common/label';
import type { BackupResult } from '../common/types';

export interface BackupNowOptions {
  environment: string;
  taskQueue: string;
  /** Defaults to `backup-<label>-manual-<epoch ms>`: same prefix as the scheduled runs, so one query finds both. */
  workflowId?: string;
  /** Told the workflow id once the run has started (the wait may be long). */
  onStarted?: (workflowId: string) => void;
}

/** A label the workflow would reject anyway; caught before anything is started. */
export class InvalidLabelError extends Error {}

/**
 * `npm run backup:now -- <label>`: starts backupDatabase outside the Schedule and waits for it.
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
  });
  options.onStarted?.(workflowId);
  try {
    return (await handle.result()) as BackupResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Error(`backup ${workflowId} failed: ${innermostMessage(err)}`, { cause: err });
    throw err;
  }
}

function innermostMessage(err: Error): string {
  let current: Error = err;
  while (current.cause instanceof Error) current = current.cause;
  return current.message;
}
