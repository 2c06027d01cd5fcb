import fs from 'node:fs/promises';
import path from 'node:path';
import { fileSafeName } from '../common/file-name';
import { companionNames } from '../files/roles-sidecar';
import { backupNamePattern, parseBackupNames, planRetention, type RetentionPolicy } from './plan';

export interface LocalPrunePlan {
  directory: string;
  keep: string[];
  remove: string[];
}

/** The retention plan for one database and label in a directory (nothing is removed). */
export async function planLocalPrune(
  directory: string,
  database: string,
  label: string,
  policy: RetentionPolicy,
  alwaysKeep: string[] = [],
): Promise<LocalPrunePlan> {
  // A directory that is not there is an error, not "nothing to prune": it may be a mistyped BACKUP_DIR.
  const names = await fs.readdir(directory).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot read the backup directory ${directory}: ${err.code === 'ENOENT' ? 'it does not exist' : err.message}`);
  });
  const backups = parseBackupNames(names, backupNamePattern(fileSafeName(database), label));
  return { directory, ...planRetention(backups, policy, alwaysKeep) };
}

/** Removes what the plan says, each backup with its `.sha256` and its roles sidecar (and that one's `.sha256`). */
export async function applyLocalPrune(plan: LocalPrunePlan): Promise<void> {
  for (const name of plan.remove) {
    await fs.rm(path.join(plan.directory, name), { force: true });
    for (const companion of [`${name}.sha256`, ...companionNames(name)]) await fs.rm(path.join(plan.directory, companion), { force: true });
  }
}
