import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, addAbortSignal } from 'node:stream';
import { READ_CHUNK } from './files';

/** Passes bytes through unchanged while hashing them: one read of a many-GB file, not two. */
export class Sha256PassThrough extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
  /** Valid once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface Sha256FileOptions {
  signal?: AbortSignal;
  /** Sees every chunk in file order, with the bytes read so far (progress, per-part digests). */
  onChunk?: (chunk: Buffer, bytesSoFar: number) => void;
}

/** The file's sha256 (hex) and length, streamed in 1 MiB reads whatever its size. */
export async function sha256File(file: string, { signal, onChunk }: Sha256FileOptions = {}): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const source = createReadStream(file, { highWaterMark: READ_CHUNK });
  for await (const chunk of signal ? addAbortSignal(signal, source) : source) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onChunk?.(chunk as Buffer, bytes);
  }
  return { sha256: hash.digest('hex'), bytes };
}
