import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import type { WorkerConfig } from '../config';
import { pigzInstalled, pigzProgram } from './pigz';
import type { CompressorProgram } from './program-segments';
import { zstdProgram } from './zstd';

/**
 * Who reads the dump for `compress`: the compressor program itself (pigz, zstd; no byte passes
 * through Node, see program-segments), or the worker, which reads it and compresses on its own
 * threads (gzip) or feeds zstd's stdin. The program is the faster; the worker is what remains
 * where the program cannot be used: gzip without pigz (or BACKUP_GZIP_ENGINE=node), and FUSE
 * file systems, some of which (fusefat) refuse reads while the writer holds the file, which
 * only the worker's reader waits out.
 */
export type CompressEngine = { reads: 'program'; program: CompressorProgram } | { reads: 'worker' };

/** statfs(2)'s f_type of every FUSE file system. */
const FUSE_SUPER_MAGIC = 0x65735546;

export async function chooseCompressEngine(compression: WorkerConfig['compression'], dir: string): Promise<CompressEngine> {
  const worker: CompressEngine = { reads: 'worker' };
  if (!(await programMayRead(dir))) return worker;
  if (compression.kind === 'zstd') return { reads: 'program', program: zstdProgram({ level: compression.level }) };
  if (compression.gzipEngine === 'node' || (compression.gzipEngine === 'auto' && !(await pigzInstalled()))) return worker;
  return { reads: 'program', program: pigzProgram(compression.level) };
}

/** Linux's /proc says where a program has read up to; FUSE may refuse its reads mid-dump. */
async function programMayRead(dir: string): Promise<boolean> {
  if (!existsSync('/proc/self/fdinfo')) return false;
  return (await fs.statfs(dir)).type !== FUSE_SUPER_MAGIC;
}
