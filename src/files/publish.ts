import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Publishing a finished `.part` file under its final name, with two guarantees on every file
 * system: an existing file is never replaced, and the final name never shows a partial file.
 *
 * Where the file system has hard links, link(part, final) does both at once (it fails with
 * EEXIST instead of replacing, and the final name appears complete), then the `.part` name
 * is removed. Where it has none (FAT, SMB/CIFS without Unix extensions, many FUSE file
 * systems: link fails with EPERM, ENOTSUP, EOPNOTSUPP or ENOSYS), rename would replace an
 * existing file, so the name is first locked with mkdir (atomic and exclusive on every file
 * system, NFS and SMB included), checked to be free, and only then renamed into place.
 *
 * Crashes, step by step (what is left, and who cleans it):
 * - link path, after link and before unlink: the final file (complete) and a second name
 *   `.part` for the same inode. `publishFile` again finishes the job (same inode: it only
 *   removes `.part`); a sweep may remove such a `.part` too (see `isLeftoverName`).
 * - lock path, after mkdir and before rename: the lock directory `<final>.publishing` and the
 *   `.part`. The final name stays free; the lock holds it for nobody until a sweep removes it
 *   (`removeStaleLock`, once its holder is gone); a publisher that finds the lock waits
 *   `lockWaitMs`, then fails with `PublishLockHeld` (retryable). Publishers never break locks.
 * - lock path, after rename and before rmdir: the final file (complete) and the lock
 *   directory; the lock is removed by the same sweep. The final name is taken, as it should be.
 * - before the directory fsync: after a power loss either name may be the one on disk, never
 *   a mix; the `.part` is complete either way (the caller fsynced it before publishing).
 */

/** The final name is taken by another file: nothing was replaced, the `.part` is kept. */
export class FinalNameTaken extends Error {
  readonly code = 'EEXIST';
  constructor(readonly finalPath: string) {
    super(`${path.basename(finalPath)} already exists; not overwriting it`);
  }
}

/** Another publisher holds the lock of this final name (or a crashed one left it). */
export class PublishLockHeld extends Error {
  constructor(readonly lockPath: string) {
    super(
      `${path.basename(lockPath)} exists: another process is publishing ${path.basename(lockPath.slice(0, -LOCK_SUFFIX.length))}, or a crashed one left its lock`,
    );
  }
}

export const LOCK_SUFFIX = '.publishing';
const HOLDER = 'holder';
/** What link() says on file systems without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
/** What fsync of a directory may say where the file system does not do it; the rename is still done. */
const NO_DIRECTORY_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EBADF', 'EISDIR', 'EPERM', 'EACCES']);

export interface PublishOptions {
  /** How long to wait for another publisher's lock on the same final name (default 5 s; publishing takes milliseconds). */
  lockWaitMs?: number;
  /** Skip link() and use the lock path (tests of the fallback on file systems that do have hard links). */
  forceLockPath?: boolean;
}

export type PublishMethod = 'link' | 'rename-under-lock' | 'already-published';

/**
 * Makes the finished, fsynced and closed `partPath` visible as `finalPath` (same directory),
 * then fsyncs the directory where the file system allows it. Throws `FinalNameTaken` when the
 * final name holds another file, `PublishLockHeld` when another publisher holds its lock.
 */
export async function publishFile(partPath: string, finalPath: string, options: PublishOptions = {}): Promise<PublishMethod> {
  if (path.dirname(path.resolve(partPath)) !== path.dirname(path.resolve(finalPath))) {
    throw new Error(`publishFile: ${partPath} and ${finalPath} must be in one directory`);
  }
  if (!options.forceLockPath) {
    try {
      await fs.link(partPath, finalPath);
      await fs.unlink(partPath);
      await syncDirectory(path.dirname(finalPath));
      return 'link';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') {
        // A retry after a crash between link and unlink: the final name already is this file.
        if (await sameFile(partPath, finalPath)) {
          await fs.unlink(partPath);
          await syncDirectory(path.dirname(finalPath));
          return 'already-published';
        }
        throw new FinalNameTaken(finalPath);
      }
      if (!NO_HARD_LINKS.has(code)) throw err;
    }
  }
  await renameUnderLock(partPath, finalPath, options.lockWaitMs ?? 5000);
  return 'rename-under-lock';
}

async function renameUnderLock(partPath: string, finalPath: string, lockWaitMs: number): Promise<void> {
  const lockPath = finalPath + LOCK_SUFFIX;
  // Taken already: say so at once, even if a crashed publisher left the lock of that name.
  if (await exists(finalPath)) throw new FinalNameTaken(finalPath);
  await takeLock(lockPath, lockWaitMs);
  try {
    // Under the lock no cooperating publisher can take the name between this check and the rename.
    if (await exists(finalPath)) throw new FinalNameTaken(finalPath);
    await fs.rename(partPath, finalPath);
    await syncDirectory(path.dirname(finalPath));
  } finally {
    await releaseLock(lockPath);
  }
}

async function takeLock(lockPath: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    try {
      await fs.mkdir(lockPath, { mode: 0o700 });
      // Who holds it, for people and sweeps (the token tells two locks of one name apart); the lock is the directory itself.
      const holder = `${os.hostname()} pid ${process.pid} since ${new Date().toISOString()} token ${randomBytes(6).toString('hex')}\n`;
      await fs.writeFile(path.join(lockPath, HOLDER), holder).catch(() => undefined);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (Date.now() >= deadline) throw new PublishLockHeld(lockPath);
    await new Promise((r) => setTimeout(r, pause));
  }
}

async function releaseLock(lockPath: string): Promise<void> {
  await fs.rm(lockPath, { recursive: true, force: true });
}

/** What a lock's `holder` file says (host, pid, time and a random token), or undefined (none yet, or no lock). */
export async function lockHolder(lockPath: string): Promise<string | undefined> {
  return fs.readFile(path.join(lockPath, HOLDER), 'utf8').catch(() => undefined);
}

/**
 * Removes a publish lock left by a crash, for sweeps that judged it by `lockHolder` and its
 * age (`ageOf` in directory-clock; a lock lives for milliseconds, so minutes mean a crash).
 * The holder is read again first: a lock that is no longer the one judged (its random token
 * differs) is left alone. Not renamed aside: some FUSE file systems lose a directory's
 * contents when it is renamed.
 */
export async function removeStaleLock(lockPath: string, judgedHolder: string | undefined): Promise<boolean> {
  if ((await lockHolder(lockPath)) !== judgedHolder) return false;
  await fs.rm(path.join(lockPath, HOLDER), { force: true });
  try {
    await fs.rmdir(lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * fsync of the directory, so the new name survives a power loss. File systems that cannot
 * (some FUSE and network file systems refuse to open or sync a directory) are skipped: the
 * data itself was fsynced by the caller, and there is nothing else to do there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!NO_DIRECTORY_SYNC.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** True when both names are one file (a link made before a crash), false when either is missing. */
export async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([fs.stat(a), fs.stat(b)]);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * A `.part` that is only a second name of its published final file (crash between link and
 * unlink): removing it loses nothing.
 */
export async function isLeftoverName(partPath: string, finalPath: string): Promise<boolean> {
  return sameFile(partPath, finalPath);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
