import fs from 'node:fs/promises';
import path from 'node:path';
import { RestoreError } from './errors';

/** The sha256 in `<file>.sha256` (the `stat` step's sidecar, `sha256sum` format), if there is one. */
export async function readSidecar(file: string): Promise<string | undefined> {
  const sidecar = `${file}.sha256`;
  let text: string;
  try {
    text = await fs.readFile(sidecar, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RestoreError(`cannot read ${sidecar}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const match = /^([0-9a-fA-F]{64}) [ *](.+)$/m.exec(text);
  if (!match) throw new RestoreError(`${sidecar} is not a sha256sum line ("<64 hex digits>  <file name>")`);
  if (match[2].trim() !== path.basename(file)) {
    throw new RestoreError(`${sidecar} is the checksum of ${match[2].trim()}, not of ${path.basename(file)}`);
  }
  return match[1].toLowerCase();
}
