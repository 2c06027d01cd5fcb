import fs from 'node:fs/promises';
import path from 'node:path';
import { RestoreError } from './errors';

/** `{db}_{label}_{YYYYMMDD_HHMMSS}[_n].sql.gz[.age]`, the names the backup workflow writes. */
export interface BackupName {
  fileName: string;
  /** `YYYYMMDD_HHMMSS` + sequence, comparable as a string within one label. */
  sortKey: string;
  encrypted: boolean;
}

/** Parses a backup file name of `label`; undefined for anything else (.part, .sha256, other labels). */
export function parseBackupName(fileName: string, label: string): BackupName | undefined {
  const match = new RegExp(`^.+_${label}_(\\d{8}_\\d{6})(?:_(\\d+))?\\.sql\\.gz(\\.age)?$`).exec(fileName);
  if (!match) return undefined;
  // Sequence 1 is the unsuffixed first file of a second; pad so that _10 sorts after _9.
  const sequence = (match[2] ?? '1').padStart(6, '0');
  return { fileName, sortKey: `${match[1]}_${sequence}`, encrypted: Boolean(match[3]) };
}

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
  const backups = names.flatMap((n) => parseBackupName(n, label) ?? []);
  if (backups.length === 0) {
    throw new RestoreError(`no backup of label "${label}" in ${dir} (expected files like {db}_${label}_YYYYMMDD_HHMMSS.sql.gz[.age])`);
  }
  // Same key twice = one backup as .gz and .age (an encrypt step interrupted after publishing): either is whole.
  backups.sort((a, b) => (a.sortKey === b.sortKey ? Number(a.encrypted) - Number(b.encrypted) : a.sortKey < b.sortKey ? -1 : 1));
  return path.join(dir, backups[backups.length - 1].fileName);
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
