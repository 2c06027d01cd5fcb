import type { Client } from '@temporalio/client';
import type { BackupResult } from '../common/types';
import type { FindLastBackupsInput, LastBackups } from '../freshness/state';
import { completedRunResult, listCompletedBackupRuns } from '../listing/completed-runs';

/**
 * `findLastBackups`: the newest COMPLETED backupDatabase run of each label, found through
 * Temporal's visibility (the workflow cannot query it itself). Failed runs are never looked at,
 * so a worker that is simply gone is caught as surely as one that fails.
 */
export function makeFindLastBackups(client: Client) {
  return async function findLastBackups({ environments, lookbackMs }: FindLastBackupsInput): Promise<LastBackups> {
    const runs = await listCompletedBackupRuns(client, { since: new Date(Date.now() - lookbackMs) });
    const found: LastBackups = Object.fromEntries(environments.map((e) => [e, null]));
    for (const run of runs) {
      if (!run.environment || !(run.environment in found)) continue;
      const current = found[run.environment];
      if (!current || Date.parse(current.closedAt) < run.closedAt.getTime()) {
        found[run.environment] = { workflowId: run.workflowId, runId: run.runId, closedAt: run.closedAt.toISOString() };
      }
    }
    // One history read per label, for the file name in the message.
    for (const last of Object.values(found)) {
      if (last) last.fileName = (await completedRunResult<BackupResult>(client, last))?.fileName;
    }
    return found;
  };
}
