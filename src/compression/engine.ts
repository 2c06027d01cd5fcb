import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import type { WorkerConfig } from '../config';
import type { CompressorProgram } from './program-segments';
import { zstdProgram } from './zstd';

/**
 * Who reads the dump for `compress`. gzip: the worker, which compresses on its own threads
 * with Node's zlib (parallel-gzip; on this project's bench it beat `pigz` reading the file
 * itself, in time and in size). zstd: the `zstd` program reading the file itself (no byte
 * passes through Node, see program-segments), except on FUSE file systems, some of which
 * (fusefat) refuse reads while the writer holds the file: there the worker reads the file,
 * waiting that out, and feeds zstd's stdin.
 */
export type CompressEngine = { reads: 'program'; program: CompressorProgram } | { reads: 'worker' };

/** statfs(2)'s f_type of every FUSE file system. */
const FUSE_SUPER_MAGIC = 0x65735546;

export async function chooseCompressEngine(compression: WorkerConfig['compression'], dir: string): Promise<CompressEngine> {
  if (compression.kind === 'zstd' && (await programMayRead(dir))) return { reads: 'program', program: zstdProgram({ level: compression.level }) };
  return { reads: 'worker' };
}

/** Linux's /proc says where a program has read up to; FUSE may refuse its reads mid-dump. */
async function programMayRead(dir: string): Promise<boolean> {
  if (!existsSync('/proc/self/fdinfo')) return false;
  return (await fs.statfs(dir)).type !== FUSE_SUPER_MAGIC;
}
