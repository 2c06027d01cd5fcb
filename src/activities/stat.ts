import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { sha256File } from '../sha256';
import type { StatInput, StatOutput } from '../common/types';
import { FILE_MODE, PART_SUFFIX } from './files';
import { throwIfCancelled, withHeartbeats } from './progress';

/** `stat`: size and sha256 of the backup, and a `<file>.sha256` sidecar that `sha256sum -c` accepts. */
export async function stat({ path: file }: StatInput): Promise<StatOutput> {
  const sizeBytes = (await fs.stat(file)).size;
  let bytes = 0;
  const { sha256 } = await withHeartbeats(
    () => ({ step: 'stat', bytes, total: sizeBytes }),
    sha256File(file, { signal: Context.current().cancellationSignal, onChunk: (_, soFar) => (bytes = soFar) }).catch((err) => {
      throwIfCancelled();
      throw err;
    }),
  );

  const checksumPath = `${file}.sha256`;
  const part = checksumPath + PART_SUFFIX;
  // Exclusive create: never write through a file or link someone else placed at this name.
  await fs.rm(part, { force: true });
  await fs.writeFile(part, `${sha256}  ${path.basename(file)}\n`, { mode: FILE_MODE, flag: 'wx' });
  await fs.rename(part, checksumPath);
  return { sizeBytes, sha256, checksumPath };
}
