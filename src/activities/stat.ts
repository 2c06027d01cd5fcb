import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { StatInput, StatOutput } from '../common/types';
import { sha256File } from '../files/sha256';
import { writeSidecar } from '../files/sidecar';
import { throwIfCancelled, withHeartbeats } from './progress';
import { finished, recordFiles } from './run-files';

/**
 * `stat`: the backup's `<file>.sha256` sidecar (the format `sha256sum -c` reads), and the step
 * that makes it a finished backup: its run's record is released. The sha256 comes from the step
 * that wrote the file (compress or encrypt hashed what they wrote), so the file is not read
 * again; only its size is checked against theirs. Without one (an attempt that found the file
 * already published, or a run from before) it reads the file once.
 */
export async function stat(input: StatInput): Promise<StatOutput> {
  const file = input.path;
  const sizeBytes = (await fs.stat(file)).size;
  let sha256 = input.sha256;
  if (sha256 && input.sizeBytes !== undefined && input.sizeBytes !== sizeBytes) {
    throw ApplicationFailure.nonRetryable(
      `${path.basename(file)} is ${sizeBytes} bytes, but ${input.sizeBytes} were written: it changed after it was written`,
      'BackupChanged',
    );
  }
  if (!sha256) {
    let bytes = 0;
    ({ sha256 } = await withHeartbeats(
      () => ({ step: 'stat', bytes, total: sizeBytes }),
      sha256File(file, { signal: Context.current().cancellationSignal, onChunk: (_, soFar) => (bytes = soFar) }).catch((err) => {
        throwIfCancelled();
        throw err;
      }),
    ));
  }

  await recordFiles(file, `${file}.sha256.part`, `${file}.sha256`);
  const checksumPath = await writeSidecar(file, sha256);
  // Verified, checksummed, in place: a finished backup, no run's work in progress any more.
  await finished(file);
  return { sizeBytes, sha256, checksumPath };
}
