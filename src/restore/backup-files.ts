import fs from 'node:fs/promises';
import path from 'node:path';
import { backupNamePattern, newestFirst, parseBackupNames } from '../retention/plan';
import { RestoreError } from './errors';

/**
 * The newest backup of `label` in `dir`, by the timestamp in its name (not mtime: copies and
 * restores from elsewhere change mtimes). Names only, so a label that ends another label
 * (`production` vs `eu_production`) is told apart only by the database-name prefix.
 */
export async function findLatestBackup(dir: string, label: string): Promise<string> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new RestoreError(`cannot list backup directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const backups = parseBackupNames(names, backupNamePattern(undefined, label));
  if (backups.length === 0) {
    throw new RestoreError(`no backup of label "${label}" in ${dir} (expected files like {db}_${label}_YYYYMMDD_HHMMSS.sql.gz[.age] or .sql.zst[.age])`);
  }
  return path.join(dir, newestFirst(backups)[0].name);
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
