import type fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { COMPRESSIONS, compressedSuffix } from '../common/backup-suffix';
import { exists, fileIn, openPart } from './files';
import { removeLeftovers, type LeftoverOptions } from './leftovers';
import { claimRecord, NameHeld, recordPathFor, releaseRecord, whose, type RunFilesRecord, type RunRef } from './run-files';

const MAX_SUFFIX = 20;

export interface ClaimedName {
  baseName: string;
  sqlPath: string;
  partPath: string;
  handle: fs.FileHandle;
  /** `<base>.owner`: this run's record of what it makes under the name. */
  recordPath: string;
}

/** Every name a backup passes through, from the dump to the finished file. */
export function stagesOf(sqlPath: string): string[] {
  return [
    sqlPath,
    ...COMPRESSIONS.map(compressedSuffix).flatMap((c) => [`${sqlPath}${c}.part`, `${sqlPath}${c}`, `${sqlPath}${c}.age.part`, `${sqlPath}${c}.age`]),
  ];
}

/**
 * Reserves a backup name for this run: its record (`<base>.owner`, created exclusively) is the
 * claim, then `<base>.sql.part` is created exclusively and no finished file may use the name.
 * Two runs of one label in the same second get `<base>` and `<base>_2`; never the same file.
 * A name whose record is an earlier execution of this run, a crashed process of this host or a
 * closed run is cleaned and taken; a name another live run holds is never touched.
 */
export async function claimBackupName(
  dir: string,
  base: string,
  run: RunRef & { environment: string },
  cleanup: Omit<LeftoverOptions, 'run' | 'keepPublished'>,
  firstSuffix = 1,
): Promise<ClaimedName> {
  for (let n = firstSuffix; n < firstSuffix + MAX_SUFFIX; n++) {
    const baseName = n === 1 ? base : `${base}_${n}`;
    const sqlPath = fileIn(dir, `${baseName}.sql`);
    const recordPath = recordPathFor(dir, baseName);
    if (!(await claimOrReclaim(dir, recordPath, run, { files: [`${baseName}.sql.part`, `${baseName}.sql`] }, cleanup))) continue;
    // A finished backup (or an older version's file, with no record) already uses the name.
    if ((await Promise.all(stagesOf(sqlPath).map(exists))).some(Boolean)) {
      await releaseRecord(recordPath);
      continue;
    }
    let claimed: Awaited<ReturnType<typeof openPart>>;
    try {
      claimed = await openPart(sqlPath);
    } catch (err) {
      await releaseRecord(recordPath);
      if (err instanceof ApplicationFailure && err.type === 'PartialFileExists') continue;
      throw err;
    }
    return { baseName, sqlPath, recordPath, ...claimed };
  }
  throw ApplicationFailure.retryable(`no free backup name for ${base} in ${dir} after ${MAX_SUFFIX} tries`, 'NoFreeBackupName');
}

/**
 * Creates the record of a name for this run; a record left by an earlier execution of this run,
 * by a crashed process of this host or by a closed run is cleaned away first. False when another
 * live run holds the name.
 */
export async function claimOrReclaim(
  dir: string,
  recordPath: string,
  run: RunRef & { environment: string },
  names: { files?: string[]; databases?: string[] },
  cleanup: Omit<LeftoverOptions, 'run' | 'keepPublished'>,
): Promise<boolean> {
  for (let tries = 0; tries < 2; tries++) {
    try {
      await claimRecord(recordPath, run, names);
      return true;
    } catch (err) {
      if (!(err instanceof NameHeld)) throw err;
      if (!err.record || !(await mayTakeOver(err.record, run, cleanup))) return false;
      await removeLeftovers(dir, { ...cleanup, run: { workflowId: err.record.workflowId, runId: err.record.runId } });
    }
  }
  return false;
}

/** An earlier execution of this same run, a crashed process on this host, or a closed run: its files are nobody's work any more. */
async function mayTakeOver(held: RunFilesRecord, run: RunRef, cleanup: Pick<LeftoverOptions, 'runState'>): Promise<boolean> {
  if (held.workflowId === run.workflowId && held.runId === run.runId) return held.activityId !== run.activityId || held.attempt < run.attempt;
  const owner = await whose(held);
  if (owner === 'dead-here') return true;
  if (owner !== 'elsewhere') return false;
  return (await cleanup.runState(held.workflowId, held.runId)) === 'closed';
}
