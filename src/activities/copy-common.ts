import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sha256File } from '../files/sha256';
import { readSidecar, sidecarText } from '../files/sidecar';
import { throwIfCancelled, withHeartbeats } from './progress';

/** Input of every copy activity: the verified backup as `stat` described it. No secret. */
export interface CopyInput {
  /** The final backup file (`.sql.gz` or `.sql.gz.age`). */
  path: string;
  /** Its `<file>.sha256` sidecar, written by `stat`. */
  checksumPath: string;
  /** Hex sha256 of the file, from `stat`. */
  sha256: string;
}

export interface CopyOutput {
  /** Where the copy now is: `dir:/mnt/nas/backups` or `s3://bucket/prefix/name`. */
  target: string;
  bytes: number;
  sha256: string;
}

/**
 * Checks that the source's sidecar names this file with this checksum, so a copy never pairs a
 * backup with another backup's sidecar. Returns the sidecar's text, to be copied as it is.
 */
export async function expectSidecar(input: CopyInput): Promise<string> {
  const recorded =
    input.checksumPath === `${input.path}.sha256` && /^[0-9a-f]{64}$/.test(input.sha256) ? await readSidecar(input.path).catch(() => undefined) : undefined;
  if (recorded !== input.sha256) {
    throw ApplicationFailure.nonRetryable(
      `${path.basename(input.checksumPath)} does not hold ${input.sha256} for ${path.basename(input.path)}: not copying a backup whose checksum does not agree`,
      'ChecksumMismatch',
    );
  }
  return sidecarText(input.sha256, path.basename(input.path));
}

/**
 * sha256 of a file, read in `partSize` slices as well: `parts` are the raw per-part digests an S3
 * multipart upload of the same bytes with that part size produces. Heartbeats progress.
 */
export async function hashFile(file: string, step: string, partSize = 0, phase = 'verify'): Promise<{ sha256: string; bytes: number; parts: Buffer[] }> {
  const parts: Buffer[] = [];
  let part = createHash('sha256');
  let inPart = 0;
  let bytes = 0;
  const eachPart = (chunk: Buffer) => {
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(partSize - inPart, chunk.length - at);
      part.update(chunk.subarray(at, at + take));
      inPart += take;
      at += take;
      if (inPart === partSize) {
        parts.push(part.digest());
        part = createHash('sha256');
        inPart = 0;
      }
    }
  };
  const total = (await fs.stat(file)).size;
  const { sha256 } = await withHeartbeats(
    () => ({ step, phase, bytes, total }),
    sha256File(file, {
      signal: Context.current().cancellationSignal,
      onChunk: (chunk, soFar) => {
        bytes = soFar;
        if (partSize > 0) eachPart(chunk);
      },
    }).catch((err) => {
      throwIfCancelled();
      throw err;
    }),
  );
  if (partSize > 0 && inPart > 0) parts.push(part.digest());
  return { sha256, bytes, parts };
}

/** The source changed (or rotted) since `stat` hashed it: another attempt reads the same bytes. */
export function sourceChanged(file: string, expected: string, actual: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${path.basename(file)} no longer matches its checksum (sha256 ${actual}, expected ${expected}): not copying it`,
    'SourceChecksumMismatch',
  );
}
