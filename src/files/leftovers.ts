import fs from 'node:fs/promises';
import path from 'node:path';
import { LOCK_SUFFIX } from './publish';
import { isRecordTemp, listRecords, readRecord, releaseRecord, whose, type RunFilesRecord } from './run-files';

/** Temporal's word on a run: `unknown` when it could not be asked (then nothing is touched). */
export type RunState = 'open' | 'closed' | 'unknown';

export interface LeftoverOptions {
  /** The Temporal namespace the asking worker is in: runs of another one are never judged. */
  namespace: string;
  runState(workflowId: string, runId: string): Promise<RunState>;
  /** Drops one of a label's scratch databases on its verification server. */
  dropDatabase(environment: string, name: string): Promise<void>;
  /**
   * A run's own cleanup: only this run's records, whoever wrote them (its steps have stopped,
   * or it is ending). Unset: a sweep of everything provably dead or finished.
   */
  run?: { workflowId: string; runId: string };
  /** Keep what was published under a final name (a failed run keeps an unverified backup for inspection). */
  keepPublished?: boolean;
}

export interface LeftoverReport {
  removed: string[];
  droppedDatabases: string[];
  /** Records left alone, and why. */
  left: Array<{ record: string; why: string }>;
}

/**
 * Removes what runs left behind in `dir`, judged by their records (see run-files): a run's own
 * leftovers when it asks, otherwise only files whose process died on this host or whose run
 * Temporal says is closed. A file no record covers is never touched.
 */
export async function removeLeftovers(dir: string, options: LeftoverOptions): Promise<LeftoverReport> {
  const report: LeftoverReport = { removed: [], droppedDatabases: [], left: [] };
  for (const recordPath of await listRecords(dir)) {
    const record = await readRecord(recordPath);
    if (!record) {
      report.left.push({ record: path.basename(recordPath), why: 'unreadable' });
      continue;
    }
    const why = await verdict(record, options);
    if (why) {
      report.left.push({ record: path.basename(recordPath), why });
      continue;
    }
    await removeRecorded(dir, recordPath, record, options, report);
  }
  return report;
}

/** Why a record must be left alone, or undefined when its files may go. */
async function verdict(record: RunFilesRecord, options: LeftoverOptions): Promise<string | undefined> {
  if (options.run) {
    return record.workflowId === options.run.workflowId && record.runId === options.run.runId ? undefined : 'another run';
  }
  // The process that wrote it died on this host: a crash, whatever became of its run.
  if ((await whose(record)) === 'dead-here') return undefined;
  // Otherwise only Temporal can say the run is over (then nothing will ever finish these files).
  if (record.namespace !== options.namespace) return `run of namespace ${record.namespace}`;
  const state = await options.runState(record.workflowId, record.runId);
  if (state === 'closed') return undefined;
  return state === 'open'
    ? `run ${record.workflowId} is still open (on ${record.host} pid ${record.pid})`
    : `cannot ask Temporal about run ${record.workflowId}`;
}

async function removeRecorded(dir: string, recordPath: string, record: RunFilesRecord, options: LeftoverOptions, report: LeftoverReport): Promise<void> {
  const keep = options.keepPublished ? record.files.filter((f) => !isIntermediate(f)) : [];
  for (const name of record.files) {
    if (keep.includes(name)) continue;
    const file = path.join(dir, name);
    if (await gone(file)) continue;
    await fs.rm(file, { force: true });
    report.removed.push(name);
  }
  for (const name of record.files) await fs.rm(path.join(dir, name + LOCK_SUFFIX), { recursive: true, force: true });
  for (const database of record.databases) {
    // Only ever the project's own scratch databases, whatever a record says.
    if (!/^pgbw_verify_[a-z0-9_]+$/.test(database)) continue;
    await options.dropDatabase(record.environment, database);
    report.droppedDatabases.push(database);
  }
  const temps = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => isRecordTemp(n) && n.startsWith(path.basename(recordPath)));
  for (const temp of temps) await fs.rm(path.join(dir, temp), { force: true });
  // Through the record's own queue: an update in flight in this process must not write it back.
  await releaseRecord(recordPath);
}

/** Work in progress: a `.part`, or the plain `.sql` a compress had not yet replaced. */
export function isIntermediate(name: string): boolean {
  return name.endsWith('.part') || name.endsWith('.sql');
}

async function gone(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => false,
    () => true,
  );
}
