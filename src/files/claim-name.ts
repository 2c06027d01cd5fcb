import type fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { exists, fileIn, openPart, removeQuietly } from './files';
import { isStale } from './stale-files';

const MAX_SUFFIX = 20;

export interface ClaimedName {
  baseName: string;
  sqlPath: string;
  partPath: string;
  handle: fs.FileHandle;
}

/**
 * Reserves a backup name for this run by creating `<base>.sql.part` exclusively, then checking
 * that no later stage of another run (`.sql`, `.sql.gz.part`, `.sql.gz`) uses it. Each stage is
 * published before the previous one is removed, so some file always marks a name in use.
 * Two runs of one label in the same second get `<base>` and `<base>_2`; never the same file.
 * A `.part` that no process holds open is a crashed writer's and is taken over.
 */
export async function claimBackupName(dir: string, base: string, firstSuffix = 1): Promise<ClaimedName> {
  const takenOver = new Set<number>();
  for (let n = firstSuffix; n < firstSuffix + MAX_SUFFIX; n++) {
    const baseName = n === 1 ? base : `${base}_${n}`;
    const sqlPath = fileIn(dir, `${baseName}.sql`);
    let claimed: Awaited<ReturnType<typeof openPart>>;
    try {
      claimed = await openPart(sqlPath);
    } catch (err) {
      if (!(err instanceof ApplicationFailure && err.type === 'PartialFileExists')) throw err;
      if (!takenOver.has(n) && (await isStale(`${sqlPath}.part`))) {
        takenOver.add(n);
        await removeQuietly(`${sqlPath}.part`);
        n--; // try the same name once more
      }
      continue;
    }
    const laterStages = [sqlPath, `${sqlPath}.gz.part`, `${sqlPath}.gz`, `${sqlPath}.gz.age.part`, `${sqlPath}.gz.age`];
    if (!(await Promise.all(laterStages.map(exists))).some(Boolean)) {
      return { baseName, sqlPath, ...claimed };
    }
    await claimed.handle.close();
    await removeQuietly(claimed.partPath);
  }
  throw ApplicationFailure.retryable(`no free backup name for ${base} in ${dir} after ${MAX_SUFFIX} tries`, 'NoFreeBackupName');
}
