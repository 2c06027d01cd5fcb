import fs from 'node:fs/promises';
import path from 'node:path';
import { FILE_MODE, PART_SUFFIX, removeQuietly } from './files';
import { syncDirectory } from './publish';

/**
 * `<file>.sha256`, in the format `sha256sum -c` reads: `<64 hex digits>  <file name>`. Written by
 * `stat` and the copy steps, read by restore and the listing.
 */
export function sidecarText(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}

/** A sidecar that does not vouch for its file: malformed, unreadable, or naming another file. */
export class SidecarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SidecarError';
  }
}

/** Writes `<file>.sha256` atomically: an exclusive `.part` (never through a file or link someone else placed), fsync, rename. */
export async function writeSidecar(file: string, sha256: string): Promise<string> {
  const sidecar = `${file}.sha256`;
  const part = sidecar + PART_SUFFIX;
  await removeQuietly(part);
  const handle = await fs.open(part, 'wx', FILE_MODE);
  try {
    await handle.writeFile(sidecarText(sha256, path.basename(file)));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(part, sidecar);
  await syncDirectory(path.dirname(sidecar));
  return sidecar;
}

/** The sha256 in `<file>.sha256`, or undefined when there is none. */
export async function readSidecar(file: string): Promise<string | undefined> {
  const sidecar = `${file}.sha256`;
  let text: string;
  try {
    text = await fs.readFile(sidecar, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SidecarError(`cannot read ${sidecar}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const match = /^([0-9a-fA-F]{64}) [ *](.+)$/m.exec(text);
  if (!match) throw new SidecarError(`${sidecar} is not a sha256sum line ("<64 hex digits>  <file name>")`);
  if (match[2].trim() !== path.basename(file)) {
    throw new SidecarError(`${sidecar} is the checksum of ${match[2].trim()}, not of ${path.basename(file)}`);
  }
  return match[1].toLowerCase();
}
