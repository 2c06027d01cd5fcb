import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FinalNameTaken, publishFile, PublishLockHeld } from './publish';

/** Owner-only permissions for everything holding database contents. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;
export const PART_SUFFIX = '.part';
/** Reads of backup files: large, so a many-GB file makes few trips through the event loop. */
export const READ_CHUNK = 1024 * 1024;

/** Creates the backup directory (0700) if missing; fails clearly if it is not writable. */
export async function ensureBackupDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
    await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `backup directory ${dir} is not usable: ${(err as NodeJS.ErrnoException).code ?? String(err)} (check BACKUP_DIR and its permissions)`,
      'BackupDirUnusable',
    );
  }
}

/** Joins a generated file name to the directory, refusing anything that would land elsewhere. */
export function fileIn(dir: string, fileName: string): string {
  const full = path.resolve(dir, fileName);
  if (path.dirname(full) !== path.resolve(dir) || fileName.includes('/')) {
    throw ApplicationFailure.nonRetryable(`refusing file name ${JSON.stringify(fileName)} outside ${dir}`, 'UnsafeFileName');
  }
  return full;
}

/** Opens `<final>.part` for writing, 0600, failing if another run is writing it right now. */
export async function openPart(finalPath: string): Promise<{ partPath: string; handle: fs.FileHandle }> {
  const partPath = finalPath + PART_SUFFIX;
  try {
    return { partPath, handle: await fs.open(partPath, 'wx', FILE_MODE) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw ApplicationFailure.retryable(
        `${path.basename(partPath)} already exists: another run is writing this backup, or a crashed one left it (removed once its run is over)`,
        'PartialFileExists',
      );
    }
    throw err;
  }
}

/**
 * Makes a finished, already fsynced and closed `.part` file visible under its final name,
 * never replacing an existing file and never showing a partial one there, also on file systems
 * without hard links (see publish.ts).
 */
export async function publishPart(partPath: string, finalPath: string): Promise<void> {
  try {
    await publishFile(partPath, finalPath);
  } catch (err) {
    if (err instanceof FinalNameTaken) throw ApplicationFailure.nonRetryable(`${path.basename(finalPath)} already exists; not overwriting it`, 'BackupExists');
    if (err instanceof PublishLockHeld) throw ApplicationFailure.retryable(err.message, 'PublishLockHeld');
    throw err;
  }
}

export async function removeQuietly(file: string): Promise<void> {
  await fs.rm(file, { force: true }).catch(() => undefined);
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
