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
 * sha256 of a stream of bytes, and of each `partSize` slice of it: the raw per-part digests an
 * S3 multipart upload of the same bytes with that part size produces.
 */
export class PartDigests {
  private readonly whole = createHash('sha256');
  private readonly parts: Buffer[] = [];
  private part = createHash('sha256');
  private inPart = 0;
  bytes = 0;

  constructor(private readonly partSize = 0) {}

  update(chunk: Buffer): void {
    this.whole.update(chunk);
    this.bytes += chunk.length;
    if (this.partSize <= 0) return;
    for (let at = 0; at < chunk.length;) {
      const take = Math.min(this.partSize - this.inPart, chunk.length - at);
      this.part.update(chunk.subarray(at, at + take));
      this.inPart += take;
      at += take;
      if (this.inPart === this.partSize) {
        this.parts.push(this.part.digest());
        this.part = createHash('sha256');
        this.inPart = 0;
      }
    }
  }

  /** Once, after the last byte. */
  finish(): { sha256: string; bytes: number; parts: Buffer[] } {
    if (this.partSize > 0 && this.inPart > 0) this.parts.push(this.part.digest());
    return { sha256: this.whole.digest('hex'), bytes: this.bytes, parts: this.parts };
  }
}

/** sha256 of a file and its per-part digests (see PartDigests), read once. Heartbeats progress. */
export async function hashFile(file: string, step: string, partSize = 0, phase = 'verify'): Promise<{ sha256: string; bytes: number; parts: Buffer[] }> {
  const digests = new PartDigests(partSize);
  const total = (await fs.stat(file)).size;
  await withHeartbeats(
    () => ({ step, phase, bytes: digests.bytes, total }),
    sha256File(file, { signal: Context.current().cancellationSignal, onChunk: (chunk) => digests.update(chunk) }).catch((err) => {
      throwIfCancelled();
      throw err;
    }),
  );
  return digests.finish();
}

/** The source changed (or rotted) since `stat` hashed it: another attempt reads the same bytes. */
export function sourceChanged(file: string, expected: string, actual: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${path.basename(file)} no longer matches its checksum (sha256 ${actual}, expected ${expected}): not copying it`,
    'SourceChecksumMismatch',
  );
}
