import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { EncryptionConfig } from '../config/encryption';
import { loadAge } from '../encryption/age';
import { exists, openPart, publishPart, READ_CHUNK, removeQuietly } from '../files/files';
import { Sha256PassThrough } from '../files/sha256';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetFiles, recordFiles } from './run-files';

export interface EncryptInput {
  /** The finished `<name>.sql.gz` (or `.sql.zst`). */
  path: string;
  /** Its sha256 as compress wrote it: what is read for encrypting must be exactly that (absent in runs from before). */
  sha256?: string;
}

export interface EncryptOutput {
  /** `<name>.sql.gz.age` (or `.sql.zst.age`) */
  path: string;
  fileName: string;
  bytes: number;
  /** sha256 of the `.age`, computed as it was written (absent when an earlier attempt had published it). */
  sha256?: string;
}

/**
 * `encrypt`: `<name>.sql.gz` → `<name>.sql.gz.age` for the configured recipients, streamed
 * (age's STREAM format, 64 KiB chunks: memory stays flat whatever the size); the plaintext
 * is removed once the `.age` is durable. One read of the plaintext, one write of the `.age`:
 * the plaintext is hashed as it is read (it must be the file compress wrote and verify
 * restored) and the `.age` as it is written (its sha256 goes to `stat`).
 */
export function makeEncrypt(encryption: EncryptionConfig) {
  return async function encrypt({ path: gzPath, sha256: expected }: EncryptInput): Promise<EncryptOutput> {
    const agePath = `${gzPath}.age`;
    const fileName = path.basename(agePath);

    // A retry after the previous attempt published (fsynced first) but could not report back.
    if (await exists(agePath)) {
      await removeQuietly(gzPath);
      return { path: agePath, fileName, bytes: (await fs.stat(agePath)).size };
    }
    const bytesIn = await sizeOf(gzPath);

    const { Encrypter } = await loadAge();
    const encrypter = new Encrypter();
    for (const recipient of encryption.recipients) encrypter.addRecipient(recipient);

    await recordFiles(gzPath, `${agePath}.part`, agePath);
    const { partPath, handle } = await openPart(agePath);
    const source = createReadStream(gzPath, { highWaterMark: READ_CHUNK });
    const plain = new Sha256PassThrough();
    const written = new Sha256PassThrough();
    let published = false;
    try {
      // Before the await: the file is read from now on, and an unheard read error would crash the worker.
      source.once('error', (err) => plain.destroy(err));
      // Pulled, not pushed: Readable.toWeb's 'data' handler can enqueue into a stream a cancel has
      // just closed (ERR_INVALID_STATE, thrown where nothing catches it: it would end the worker).
      const encrypted = await encrypter.encrypt(WebReadableStream.from(source.pipe(plain)) as ReadableStream<Uint8Array>);
      await withHeartbeats(
        () => ({ step: 'encrypt', bytesIn: source.bytesRead, totalIn: bytesIn }),
        pipeline(Readable.fromWeb(encrypted as WebReadableStream<Uint8Array>), written, handle.createWriteStream({ flush: true }), {
          signal: Context.current().cancellationSignal,
        }).catch((err) => {
          throwIfCancelled();
          throw err;
        }),
      );
      const read = plain.digest();
      if (expected && read !== expected) {
        throw ApplicationFailure.nonRetryable(
          `${path.basename(gzPath)} changed after it was written (sha256 ${read}, expected ${expected}): not encrypting a file that is not the verified backup`,
          'SourceChecksumMismatch',
        );
      }
      // The write stream fsynced and closed the handle.
      const bytes = written.bytes;
      const sha256 = written.digest();
      await publishPart(partPath, agePath);
      published = true;
      await fs.unlink(gzPath);
      await forgetFiles(gzPath, gzPath, partPath);
      log.info('encrypted', { file: fileName, bytesIn, bytes, recipients: encryption.recipients.length });
      return { path: agePath, fileName, bytes, sha256 };
    } finally {
      if (!published) {
        source.destroy();
        await handle.close().catch(() => undefined);
        await removeQuietly(partPath);
      }
    }
  };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // Neither the compressed file nor its .age: another attempt cannot make it appear.
      throw ApplicationFailure.nonRetryable(`${path.basename(file)} not found: nothing to encrypt`, 'BackupMissing');
    }
    throw err;
  }
}
