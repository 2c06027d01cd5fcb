import type { Client } from '@temporalio/client';
import type { BackupResult } from '../common/types';
import type { FindLastBackupsInput, LastBackups } from '../freshness/state';
import { completedRunResult } from '../listing/completed-runs';
import { newestBackups } from '../listing/newest-backups';

/**
 * `findLastBackups`: the newest COMPLETED backupDatabase run of each label, asked of Temporal's
 * visibility (the workflow cannot query it itself): exact by query on the runs' search
 * attributes, whatever their number; runs without them are listed by memo (see
 * newestBackups). Failed runs are never looked at, so a worker that is simply gone is caught
 * as surely as one that fails.
 */
export function makeFindLastBackups(client: Client) {
  return async function findLastBackups({ environments, lookbackMs }: FindLastBackupsInput): Promise<LastBackups> {
    const newest = await newestBackups(client, environments, { since: new Date(Date.now() - lookbackMs) });
    const found: LastBackups = {};
    for (const [environment, run] of Object.entries(newest)) {
      // One history read per label, for the file name in the message.
      found[environment] = run
        ? {
            workflowId: run.workflowId,
            runId: run.runId,
            closedAt: run.closedAt.toISOString(),
            fileName: (await completedRunResult<BackupResult>(client, run))?.fileName,
          }
        : null;
    }
    return found;
  };
}
