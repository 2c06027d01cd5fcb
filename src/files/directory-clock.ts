import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Prefix of the probe files; nothing else in a backup directory starts with it. */
export const CLOCK_PROBE_PREFIX = '.pgbw-clock-';

/**
 * The time as the file system holding `dir` stamps it: the modification time of a file
 * written there just now. On a directory shared by several hosts (NFS, SMB) every file's
 * mtime comes from the one server's clock, so comparing an mtime with this needs no agreement
 * between the hosts' clocks. Undefined when nothing can be written there.
 */
export async function directoryNow(dir: string): Promise<number | undefined> {
  const probe = path.join(dir, `${CLOCK_PROBE_PREFIX}${randomBytes(6).toString('hex')}`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(probe, 'wx', 0o600);
    await handle.write('.');
    await handle.sync(); // an NFS client sends the write (and gets the server's mtime) now, not at close
    return (await handle.stat()).mtimeMs;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
    await fs.rm(probe, { force: true }).catch(() => undefined);
  }
}

/**
 * How long ago `file` was last written, by the directory's clock. Opened, not just stat'ed:
 * an NFS client revalidates attributes on open (close-to-open), so another host's recent
 * write is seen. Undefined when the file is gone or the clock cannot be read.
 */
export async function ageOf(file: string): Promise<number | undefined> {
  let mtimeMs: number;
  try {
    const handle = await fs.open(file, 'r');
    try {
      mtimeMs = (await handle.stat()).mtimeMs;
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  const now = await directoryNow(path.dirname(file));
  return now === undefined ? undefined : Math.max(0, now - mtimeMs);
}
