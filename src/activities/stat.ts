import fs from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type { StatInput, StatOutput } from '../common/types';
import { sha256File } from '../files/sha256';
import { writeSidecar } from '../files/sidecar';
import { throwIfCancelled, withHeartbeats } from './progress';
import { finished, recordFiles } from './run-files';

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

  await recordFiles(file, `${file}.sha256.part`, `${file}.sha256`);
  const checksumPath = await writeSidecar(file, sha256);
  // Verified, checksummed, in place: a finished backup, no run's work in progress any more.
  await finished(file);
  return { sizeBytes, sha256, checksumPath };
}
