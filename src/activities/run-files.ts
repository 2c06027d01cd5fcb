import path from 'node:path';
import { Context, log, type Info } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { COMPRESSED_SQL } from '../common/backup-suffix';
import { databaseFor, type WorkerConfig } from '../config';
import { removeLeftovers, type LeftoverOptions, type LeftoverReport } from '../files/leftovers';
import { addToRecord, forgetInRecord, recordPathFor, releaseRecord, type RunRef } from '../files/run-files';
import { psqlRows, quoteIdent } from '../postgres/libpq';

/** The run and activity attempt an activity works for. */
export function runRefOf(info: Info = Context.current().info): RunRef {
  // An activity outside any workflow (unit tests) still gets a run of its own.
  return {
    namespace: info.namespace,
    workflowId: info.workflowExecution?.workflowId ?? `standalone-${info.activityId}`,
    runId: info.workflowExecution?.runId ?? info.activityId,
    activityId: info.activityId,
    attempt: info.attempt,
  };
}

/** How this worker judges and removes leftovers: it asks Temporal whether a run is over, and drops scratch databases on a label's verification server. */
export function leftoverOptions(config: WorkerConfig, client: Client | undefined): Omit<LeftoverOptions, 'run' | 'keepPublished'> {
  return {
    namespace: client?.options.namespace ?? Context.current().info.namespace,
    async runState(workflowId, runId) {
      // Without a client (an activity run on its own) nothing can be asked, so nothing elsewhere is judged.
      if (!client) return 'unknown';
      try {
        const { status } = await client.workflow.getHandle(workflowId, runId).describe();
        return status.name === 'RUNNING' ? 'open' : 'closed';
      } catch (err) {
        // Gone from the namespace (past its retention): long closed.
        return err instanceof WorkflowNotFoundError ? 'closed' : 'unknown';
      }
    },
    async dropDatabase(environment, name) {
      const admin = config.verify.server ?? databaseFor(config, environment);
      await psqlRows(config.libpq, admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`, { timeoutMs: 60_000 });
    },
  };
}

const BACKUP_FILE_SUFFIX = new RegExp(String.raw`(?:${COMPRESSED_SQL}(?:\.age)?|\.sql)(?:\.sha256)?(?:\.part)?$`);

/** The base name of a backup file (`x.sql.gz.age`, `x.sql.zst` → `x`), whose record covers it. */
export function baseOf(file: string): string {
  return path.basename(file).replace(BACKUP_FILE_SUFFIX, '');
}

/** This run's record of the backup `file` belongs to. */
export function recordOf(file: string): string {
  return recordPathFor(path.dirname(file), baseOf(file));
}

/** Names (in `file`'s directory) this step is about to make: recorded first, so a crash right after leaves them covered. */
export async function recordFiles(file: string, ...names: string[]): Promise<void> {
  await addToRecord(recordOf(file), runRefOf(), { files: names.map((n) => path.basename(n)) });
}

/** Drops names that are gone; a record that cannot be updated only means a cleanup will find less to do. */
export async function forgetFiles(file: string, ...names: string[]): Promise<void> {
  await forgetInRecord(recordOf(file), runRefOf(), { files: names.map((n) => path.basename(n)) }).catch((err) =>
    log.warn('could not update the backup record', { file: path.basename(file), error: String(err) }),
  );
}

export async function recordDatabase(file: string, database: string): Promise<void> {
  await addToRecord(recordOf(file), runRefOf(), { databases: [database] });
}

export async function forgetDatabase(file: string, database: string): Promise<void> {
  await forgetInRecord(recordOf(file), runRefOf(), { databases: [database] }).catch((err) =>
    log.warn('could not update the backup record', { file: path.basename(file), error: String(err) }),
  );
}

/** The backup under `file`'s name is finished: its files are no run's work in progress any more. */
export function finished(file: string): Promise<void> {
  return releaseRecord(recordOf(file));
}

/** Logs what a cleanup did and what it left. */
export function logLeftovers(where: string, report: LeftoverReport): void {
  if (report.removed.length || report.droppedDatabases.length) {
    log.info('removed what a run left behind', { where, files: report.removed, databases: report.droppedDatabases });
  }
}

export interface DiscardRunInput {
  /** Keep what was published under a final name (a failed run keeps its unverified backup for inspection). */
  keepPublished: boolean;
}

export interface DiscardRunOutput {
  removed: string[];
  droppedDatabases: string[];
}

/**
 * `discardRun`: removes everything this run made that is still recorded here (and in the copy
 * directory): partial files, the plain `.sql`, a backup that was never finished, scratch
 * databases. A finished backup's record was released by `stat`, so it is never touched. The
 * workflow calls it, not cancellable, when the run is cancelled or fails, and at the end of a
 * successful run (then it finds what earlier executions of the run left: a retried dump's, a
 * lost host's on a shared directory).
 */
export function makeDiscardRun(config: WorkerConfig, client?: Client) {
  return async function discardRun({ keepPublished }: DiscardRunInput): Promise<DiscardRunOutput> {
    const { workflowId, runId } = runRefOf();
    const options = { ...leftoverOptions(config, client), run: { workflowId, runId }, keepPublished };
    const out: DiscardRunOutput = { removed: [], droppedDatabases: [] };
    for (const dir of [config.backupDir, ...(config.copies.localDir ? [config.copies.localDir] : [])]) {
      const report = await removeLeftovers(dir, options);
      logLeftovers(dir, report);
      out.removed.push(...report.removed);
      out.droppedDatabases.push(...report.droppedDatabases);
    }
    return out;
  };
}
