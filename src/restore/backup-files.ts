import fs from 'node:fs/promises';
import path from 'node:path';
import { labelOf, parseBackupFileName } from '../listing/names';
import { backupNamePattern, newestFirst, parseBackupNames } from '../retention/plan';
import { RestoreError } from './errors';

/**
 * The newest finished backup of `label` in `dir`, by the timestamp in its name (not mtime:
 * copies and restores from elsewhere change mtimes). Finished means its `.sha256` is there:
 * `stat` writes it only after verification, so a backup whose run failed or is still running is
 * passed over (and said so). A label that ends another one (`production` in `eu_production`) is
 * told apart as `list` does, by the configured labels: the longest one a name ends with is its.
 */
export async function findLatestBackup(dir: string, label: string, configuredLabels: string[] = []): Promise<{ file: string; passedOver: string[] }> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new RestoreError(`cannot list backup directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const present = new Set(names);
  const known = { configured: [...new Set([...configuredLabels, label])] };
  const ofLabel = parseBackupNames(names, backupNamePattern(undefined, label)).filter((b) => {
    const parsed = parseBackupFileName(b.name);
    return parsed !== undefined && labelOf(parsed, known) === label;
  });
  const ordered = newestFirst(ofLabel);
  const finished = ordered.findIndex((b) => present.has(`${b.name}.sha256`));
  if (finished < 0) {
    throw new RestoreError(
      ordered.length === 0
        ? `no backup of label "${label}" in ${dir} (expected files like {db}_${label}_YYYYMMDD_HHMMSS.sql.gz[.age] or .sql.zst[.age])`
        : `no finished backup of label "${label}" in ${dir}: none of ${ordered.length} has its .sha256 (its run failed or has not finished); name a file to restore it anyway`,
    );
  }
  return { file: path.join(dir, ordered[finished].name), passedOver: ordered.slice(0, finished).map((b) => b.name) };
}

/** The file the user named: must exist and be a regular file (or a pipe). */
export async function checkBackupFile(file: string): Promise<{ size: number }> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new RestoreError(`${file} is a directory, not a backup file`);
    return { size: stat.size };
  } catch (err) {
    if (err instanceof RestoreError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new RestoreError(code === 'ENOENT' ? `backup file ${file} does not exist` : `cannot read backup file ${file}: ${code ?? String(err)}`);
  }
}
