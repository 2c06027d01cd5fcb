import type { Client } from '@temporalio/client';
import { BACKUP_ENVIRONMENT, completedBackupsQuery } from '../common/search-attributes';
import { labelProblem } from '../common/label';
import { isUnknownSearchAttribute } from '../temporal/search-attributes';
import { listCompletedBackupRuns, type CompletedBackupRun } from './completed-runs';

/**
 * The newest completed backupDatabase run of a label, asked of Temporal directly: a visibility
 * query on the run's PgBackupEnvironment, one page of one. Visibility lists closed runs newest
 * close time first on every store (SQL visibility refuses ORDER BY, so the order is the
 * server's own), so the answer is exact whatever the number of runs. Throws when the namespace
 * lacks the attribute (see `isUnknownSearchAttribute`).
 */
export async function newestTaggedBackup(client: Client, environment: string): Promise<CompletedBackupRun | undefined> {
  return firstOf(client, completedBackupsQuery(environment), environment);
}

/**
 * The newest completed run of each label, exact by query where the runs carry the attribute.
 * Runs that do not (recorded before this version, or by a worker that found the attribute
 * missing) are listed by their memo as before, bounded by `since` and `limit`; if the
 * namespace has no attribute at all, that listing is all there is.
 */
export async function newestBackups(
  client: Client,
  environments: readonly string[],
  options: { since: Date; limit?: number },
): Promise<Record<string, CompletedBackupRun | null>> {
  const found: Record<string, CompletedBackupRun | null> = Object.fromEntries(environments.map((e) => [e, null]));
  let tagged = true;
  for (const environment of environments) {
    try {
      found[environment] = (await newestTaggedBackup(client, environment)) ?? null;
    } catch (err) {
      if (!isUnknownSearchAttribute(err)) throw err;
      tagged = false;
      break;
    }
  }
  for (const run of await listCompletedBackupRuns(client, { ...options, untagged: tagged })) {
    if (!run.environment || !(run.environment in found)) continue;
    const current = found[run.environment];
    if (!current || current.closedAt < run.closedAt) found[run.environment] = run;
  }
  return found;
}

/**
 * The newest completed run of every label that has tagged runs, without knowing the labels:
 * the newest run overall names one label, the newest run of any other label names the next,
 * and so on: one query per label. For seeding metrics at worker start; at most `maxLabels`.
 */
export async function newestBackupOfEveryLabel(client: Client, maxLabels = 100): Promise<CompletedBackupRun[]> {
  const runs: CompletedBackupRun[] = [];
  while (runs.length < maxLabels) {
    const seen = runs.map((r) => `'${r.environment}'`).join(', ');
    const query = `WorkflowType = 'backupDatabase' AND ExecutionStatus = 'Completed' AND ${BACKUP_ENVIRONMENT.name} IS NOT NULL${seen ? ` AND ${BACKUP_ENVIRONMENT.name} NOT IN (${seen})` : ''}`;
    const run = await firstOf(client, query);
    // A label that could hold a quote (never written by this project) would break the next query.
    if (!run?.environment || labelProblem(run.environment)) break;
    runs.push(run);
  }
  return runs;
}

async function firstOf(client: Client, query: string, environment?: string): Promise<CompletedBackupRun | undefined> {
  for await (const w of client.workflow.list({ query, pageSize: 1 })) {
    const tag = w.typedSearchAttributes.get(BACKUP_ENVIRONMENT);
    return { workflowId: w.workflowId, runId: w.runId, closedAt: w.closeTime ?? w.startTime, environment: environment ?? tag };
  }
  return undefined;
}
