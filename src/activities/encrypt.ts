import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { EncryptionConfig } from '../config/encryption';
import { loadAge } from '../encryption/age';
import { exists, openPart, publishPart, READ_CHUNK, removeQuietly } from '../files/files';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetFiles, recordFiles } from './run-files';

export interface EncryptInput {
  /** The finished `<name>.sql.gz`. */
  path: string;
}

export interface EncryptOutput {
  /** `<name>.sql.gz.age` */
  path: string;
  fileName: string;
  bytes: number;
}

/**
 * `encrypt`: `<name>.sql.gz` → `<name>.sql.gz.age` for the configured recipients, streamed
 * (age's STREAM format, 64 KiB chunks: memory stays flat whatever the size); the plaintext
 * `.sql.gz` is removed once the `.age` is durable.
 */
export function makeEncrypt(encryption: EncryptionConfig) {
  return async function encrypt({ path: gzPath }: EncryptInput): Promise<EncryptOutput> {
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
    let published = false;
    try {
      const encrypted = await encrypter.encrypt(Readable.toWeb(source) as ReadableStream<Uint8Array>);
      await withHeartbeats(
        () => ({ step: 'encrypt', bytesIn: source.bytesRead, totalIn: bytesIn }),
        pipeline(Readable.fromWeb(encrypted as WebReadableStream<Uint8Array>), handle.createWriteStream({ flush: true }), {
          signal: Context.current().cancellationSignal,
        }).catch((err) => {
          throwIfCancelled();
          throw err;
        }),
      );
      // The write stream fsynced and closed the handle.
      const bytes = (await fs.stat(partPath)).size;
      await publishPart(partPath, agePath);
      published = true;
      await fs.unlink(gzPath);
      await forgetFiles(gzPath, gzPath, partPath);
      log.info('encrypted', { file: fileName, bytesIn, bytes, recipients: encryption.recipients.length });
      return { path: agePath, fileName, bytes };
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
      // Neither the .gz nor its .age: another attempt cannot make it appear.
      throw ApplicationFailure.nonRetryable(`${path.basename(file)} not found: nothing to encrypt`, 'BackupMissing');
    }
    throw err;
  }
}
