import path from 'node:path';
import { Readable } from 'node:stream';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import { loadAge } from '../encryption/age';
import { RestoreError } from './errors';

/**
 * Streams the plaintext of an age file. The header is read and the file key unwrapped before
 * this resolves, so a wrong identity or a non-age file fails before the target is touched.
 */
export async function decryptingStream(ciphertext: Readable, identities: string[], file: string, identityFile: string): Promise<Readable> {
  const { Decrypter } = await loadAge();
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  try {
    // Pulled (not Readable.toWeb, whose 'data' handler can enqueue into a stream already cancelled, and throw uncaught).
    const plain = await decrypter.decrypt(WebReadableStream.from(ciphertext) as ReadableStream<Uint8Array>);
    return Readable.fromWeb(plain as WebReadableStream<Uint8Array>);
  } catch (err) {
    ciphertext.destroy();
    throw headerError(err as Error, path.basename(file), identityFile);
  }
}

function headerError(err: Error, name: string, identityFile: string): Error {
  if (/no identity matched/.test(err.message)) {
    return new RestoreError(`${name} cannot be decrypted with the identity in ${identityFile}: it was encrypted to other recipients`);
  }
  if (/invalid|unexpected|premature|EOF|short/i.test(err.message)) {
    return new RestoreError(`${name} is not an age file, or its header is damaged (${err.message})`);
  }
  return err;
}
