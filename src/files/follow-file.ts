import type fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const REFUSED_WHILE_WRITTEN = new Set(['EPERM', 'EAGAIN', 'EBUSY']);

/** The writer gave up: what was read so far is not a complete file and never will be. */
export class WriterFailed extends Error {
  constructor() {
    super('the writer of the followed file failed');
  }
}

export interface FollowOptions {
  /** The writer's state, read before each read: `complete` means nothing more will be written. */
  state: () => 'writing' | 'complete' | 'failed';
  chunkSize: number;
  /** How long to wait at the end of the file for the writer to add more. */
  pollMs: number;
  signal: AbortSignal;
  /** Called with the bytes read so far after each read. */
  onRead?: (position: number) => void;
  /** Opens the finished file again where the file system refuses reads on the handle after the writer renamed it. */
  reopen?: () => Promise<fs.FileHandle>;
}

/**
 * Reads a file from the start while another process is still writing it, like `tail -f`
 * from byte 0, and ends at its true end: the state is read before each read, so an empty
 * read after the writer said `complete` means nothing more can come.
 */
export async function* followFile(handle: fs.FileHandle, options: FollowOptions): AsyncGenerator<Buffer> {
  let position = 0;
  let reopened = false;
  let buffer: Buffer | undefined;
  for (;;) {
    const state = options.state();
    if (state === 'failed') throw new WriterFailed();
    // Downstream may keep a chunk while asking for the next, so a buffer handed on is never
    // read into again. A short read (a slow pg_dump, trickling) is copied out instead and the
    // buffer kept: a few KB at a time must not cost a fresh MiB each.
    buffer ??= Buffer.allocUnsafe(options.chunkSize);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, options.chunkSize, position));
    } catch (err) {
      // Some FUSE file systems (FAT) refuse a read while the writer holds the file, and after it
      // was renamed into place: wait for the writer, then read on from its final name.
      if (!REFUSED_WHILE_WRITTEN.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      if (state === 'writing') {
        await sleep(options.pollMs, undefined, { signal: options.signal });
        continue;
      }
      if (!options.reopen || reopened) throw err;
      reopened = true;
      handle = await options.reopen();
      continue;
    }
    if (bytesRead > 0) {
      position += bytesRead;
      options.onRead?.(position);
      let chunk: Buffer;
      if (bytesRead < options.chunkSize / 2) {
        chunk = Buffer.from(buffer.subarray(0, bytesRead));
      } else {
        chunk = buffer.subarray(0, bytesRead);
        buffer = undefined;
      }
      yield chunk;
    } else if (state === 'complete') {
      return;
    } else {
      await sleep(options.pollMs, undefined, { signal: options.signal });
    }
  }
}
