import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Files under `dir` that some process on this host holds open, read from /proc/<pid>/fd.
 * A `.part` file nobody holds open belongs to a writer that died: safe to remove, even when
 * several workers share the directory. Undefined where /proc is not available.
 */
export async function filesHeldOpenUnder(dir: string): Promise<Set<string> | undefined> {
  const root = path.resolve(dir) + path.sep;
  let pids: string[];
  try {
    pids = (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const open = new Set<string>();
  await Promise.all(
    pids.map(async (pid) => {
      const fdDir = `/proc/${pid}/fd`;
      const fds = await fs.readdir(fdDir).catch(() => [] as string[]);
      for (const fd of fds) {
        const target = await fs.readlink(`${fdDir}/${fd}`).catch(() => '');
        if (target.startsWith(root)) open.add(target);
      }
    }),
  );
  return open;
}
