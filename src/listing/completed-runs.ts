import type { Client } from '@temporalio/client';
import { BACKUP_ENVIRONMENT } from '../common/search-attributes';

/** One completed backupDatabase run as visibility lists it (its result is fetched separately). */
export interface CompletedBackupRun {
  workflowId: string;
  runId: string;
  closedAt: Date;
  /** The run's memo `environment` (set by the workflow); undefined for runs older than that memo. */
  environment?: string;
}

/**
 * Completed backupDatabase runs closed after `since`. The memo is not searchable, so labels are
 * filtered here. Visibility on SQL stores (the dev server) rejects ORDER BY, so callers must not
 * rely on the order: they keep the newest themselves. `limit` bounds the work on busy namespaces.
 * `untagged`: only runs without the PgBackupEnvironment search attribute (recorded before it
 * existed, or by a worker that found it missing); the namespace must have the attribute then.
 */
export async function listCompletedBackupRuns(client: Client, options: { since: Date; limit?: number; untagged?: boolean }): Promise<CompletedBackupRun[]> {
  const query =
    `WorkflowType = 'backupDatabase' AND ExecutionStatus = 'Completed' AND CloseTime > '${options.since.toISOString()}'` +
    (options.untagged ? ` AND ${BACKUP_ENVIRONMENT.name} IS NULL` : '');
  const runs: CompletedBackupRun[] = [];
  for await (const w of client.workflow.list({ query, pageSize: 500 })) {
    const environment = w.memo?.environment;
    runs.push({
      workflowId: w.workflowId,
      runId: w.runId,
      closedAt: w.closeTime ?? w.startTime,
      environment: typeof environment === 'string' ? environment : undefined,
    });
    if (runs.length >= (options.limit ?? 5000)) break;
  }
  return runs;
}

/** The result of a completed run (one history read); undefined when it cannot be read (e.g. retention). */
export async function completedRunResult<T>(client: Client, run: Pick<CompletedBackupRun, 'workflowId' | 'runId'>): Promise<T | undefined> {
  try {
    return (await client.workflow.getHandle(run.workflowId, run.runId).result()) as T;
  } catch {
    return undefined;
  }
}
