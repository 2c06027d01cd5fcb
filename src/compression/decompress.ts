import type { Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from '../common/backup-suffix';
import { createZstdDecompress, ZstdFailed, ZstdNotInstalled } from './zstd';

/** Plain output per gunzip step: zlib's default of 16 KiB made every later stage (the dump filter, psql's pipe) cost 3× the CPU. */
const GUNZIP_CHUNK = 256 * 1024;

/** Compressed bytes in, the plain dump out: Node's gunzip, or Debian's `zstd -d` for `.sql.zst`. */
export function createDecompressor(compression: Compression): Duplex {
  return compression === 'gzip' ? createGunzip({ chunkSize: GUNZIP_CHUNK }) : createZstdDecompress();
}

/** A failure of the decompressor itself: the input is corrupt or truncated (not: the program is missing). */
export function isCorruptInput(err: unknown): boolean {
  if (err instanceof ZstdNotInstalled) return false;
  return err instanceof ZstdFailed || ((err as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('Z_');
}
