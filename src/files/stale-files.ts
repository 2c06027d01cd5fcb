import fs from 'node:fs/promises';
import path from 'node:path';
import { filesHeldOpenUnder } from './open-files';

/** This project's partial files: `{db}_{env}_{YYYYMMDD_HHMMSS}[_n].sql[.gz[.age]][.sha256].part`. */
export const PARTIAL_FILE = /^[A-Za-z0-9_.-]+_[A-Za-z0-9_-]{1,64}_\d{8}_\d{6}(?:_\d+)?\.sql(?:\.gz(?:\.age)?(?:\.sha256)?)?\.part$/;

/**
 * Removes partial files that a crashed worker left in `dir` and that no live process holds
 * open. Returns what it removed. Only this project's own file names are ever touched.
 */
export async function removeStalePartials(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const partials = names.filter((name) => PARTIAL_FILE.test(name));
  if (partials.length === 0) return [];
  const held = await filesHeldOpenUnder(dir);
  if (!held) return []; // cannot tell live from stale without /proc: leave them
  const removed: string[] = [];
  for (const name of partials) {
    const full = path.join(path.resolve(dir), name);
    if (held.has(full)) continue;
    await fs.rm(full, { force: true });
    removed.push(name);
  }
  return removed;
}

/** True when `file` exists and no process holds it open (its writer is gone). */
export async function isStale(file: string): Promise<boolean> {
  const held = await filesHeldOpenUnder(path.dirname(file));
  return held !== undefined && !held.has(path.resolve(file));
}
