import type { Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from '../common/backup-suffix';
import { createZstdDecompress, ZstdFailed, ZstdNotInstalled } from './zstd';

/** Compressed bytes in, the plain dump out: Node's gunzip, or Debian's `zstd -d` for `.sql.zst`. */
export function createDecompressor(compression: Compression): Duplex {
  return compression === 'gzip' ? createGunzip() : createZstdDecompress();
}

/** A failure of the decompressor itself: the input is corrupt or truncated (not: the program is missing). */
export function isCorruptInput(err: unknown): boolean {
  if (err instanceof ZstdNotInstalled) return false;
  return err instanceof ZstdFailed || ((err as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('Z_');
}
