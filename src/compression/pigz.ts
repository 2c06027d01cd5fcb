import { execFile } from 'node:child_process';
import type { CompressorProgram } from './program-segments';

/**
 * gzip by Debian's `pigz`: every core, standard gzip output (`gunzip`, `zcat` and Node's zlib
 * read it), within a fraction of a percent of `gzip` at the same level. Used for `.sql.gz` when
 * installed (BACKUP_GZIP_ENGINE); otherwise the worker compresses on its own threads
 * (parallel-gzip).
 */

/** `pigz` is not installed (or not at the configured path). */
export class PigzNotInstalled extends Error {
  constructor(readonly command: string) {
    super(`${command === 'pigz' ? 'pigz is not installed' : `pigz not found at ${JSON.stringify(command)}`}: install the pigz package (apt-get install pigz)`);
    this.name = 'PigzNotInstalled';
  }
}

/** `pigz -<level> -c`: stdin to stdout, one gzip member. */
export function pigzProgram(level: number, command = 'pigz'): CompressorProgram {
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new RangeError(`gzip level must be 1-9, got ${level}`);
  return { command, args: [`-${level}`, '-c'], notInstalled: (c) => new PigzNotInstalled(c) };
}

/** The installed pigz's version (e.g. `2.6`), or PigzNotInstalled. */
export function pigzVersion(command = 'pigz'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(new PigzNotInstalled(command));
      if (err) return reject(err);
      // Older pigz print their version on stderr.
      const m = /pigz (\d+(?:\.\d+)+)/.exec(`${stdout}${stderr}`);
      if (!m) return reject(new Error(`unexpected \`${command} --version\` output: ${`${stdout}${stderr}`.trim()}`));
      resolve(m[1]);
    });
  });
}

let installed: Promise<boolean> | undefined;

/** Whether `pigz` runs here, asked once per process. */
export function pigzInstalled(): Promise<boolean> {
  installed ??= pigzVersion().then(
    () => true,
    () => false,
  );
  return installed;
}
