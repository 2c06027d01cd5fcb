import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { compressedSuffix, COMPRESSIONS } from '../common/backup-suffix';
import { gzipChunks } from '../compression/parallel-gzip';
import { chooseCompressEngine, type CompressEngine } from '../compression/engine';
import { compressInSegments, inputPosition } from '../compression/program-segments';
import { createZstdCompress, ZstdNotInstalled } from '../compression/zstd';
import type { WorkerConfig } from '../config';
import type { CompressInput, CompressOutput, NothingFollowed } from '../common/types';
import { exists, openPart, publishPart, READ_CHUNK, removeQuietly } from '../files/files';
import { WriterFailed, followFile } from '../files/follow-file';
import { Sha256PassThrough } from '../files/sha256';
import {
  announceCompression,
  awaitDump,
  forgetDump,
  openAnnounced,
  runKey,
  type Announced,
  type CompressionResult,
  type LiveDump,
  type LiveState,
} from './live-dumps';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetFiles, recordFiles } from './run-files';

/** How long a compress started beside the dump waits for pg_dump to begin. */
const DUMP_START_WAIT_MS = 30_000;
/** How long it waits at the end of the growing file before reading again. */
const FOLLOW_POLL_MS = 20;

/**
 * `compress`: `<name>.sql` → `<name>.sql.gz` (or `.sql.zst`), streamed; the `.sql` is removed
 * after, on every core: gzip by the worker (pigz-style blocks, see compression/parallel-gzip),
 * zstd by Debian's `zstd -T0` reading the dump file itself (see compression/engine). Size and
 * sha256 of the output are computed as it is written and handed on, so no later step reads the
 * file again for them.
 * With `{ whileDumping: true }` it starts beside this run's `dump` and reads the file as
 * pg_dump writes it, so the two steps overlap instead of adding up; a `verify` beside it may
 * follow its output in turn (see live-dumps).
 */
export function makeCompress(config: WorkerConfig, { dumpStartWaitMs = DUMP_START_WAIT_MS } = {}) {
  return async function compress(input: CompressInput): Promise<CompressOutput | NothingFollowed> {
    return 'whileDumping' in input ? compressWhileDumping(config, dumpStartWaitMs) : compressFile(config, input.sqlPath);
  };
}

async function compressFile(config: WorkerConfig, sqlPath: string): Promise<CompressOutput> {
  const done = await alreadyCompressed(sqlPath);
  if (done) return done;
  const handle = await fs.open(sqlPath, 'r');
  try {
    const totalIn = (await handle.stat()).size;
    const dump: DumpReading = { handle, state: () => 'complete' };
    return await compressToBackup(config, sqlPath, dump, (bytesIn) => ({ step: 'compress', bytesIn, totalIn }));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Follows the dump this run's `dump` step is writing on this worker. If there is none (the
 * dump has not started within `dumpStartWaitMs`) or the dump attempt fails, it says so and
 * leaves the work to a plain compress after the dump's retry; it never publishes a compressed
 * file before pg_dump finished and the dump step published `<name>.sql`.
 */
async function compressWhileDumping(config: WorkerConfig, dumpStartWaitMs: number): Promise<CompressOutput | NothingFollowed> {
  const { info, cancellationSignal: signal } = Context.current();
  const run = runKey(info);
  const dump = await awaitDump(run, dumpStartWaitMs, signal);
  throwIfCancelled();
  if (!dump) return { followed: false, reason: `the dump had not started after ${dumpStartWaitMs / 1000} s` };
  const done = await alreadyCompressed(dump.sqlPath);
  if (done) return done;
  const handle = await openAnnounced([dump.partPath, dump.sqlPath], dump.ino);
  if (!handle) return { followed: false, reason: 'the dump attempt ended without its file' };

  let reopened: fs.FileHandle | undefined;
  try {
    const reading: DumpReading = { handle, state: dump.state, reopen: async () => (reopened = await fs.open(dump.sqlPath, 'r')) };
    const out = await compressToBackup(
      config,
      dump.sqlPath,
      reading,
      async (bytesIn) => ({
        step: 'compress',
        bytesIn,
        // What pg_dump has written so far, while it still writes.
        totalIn: (await handle.stat()).size,
        dumping: dump.state() === 'writing',
        // Percent and time left while dumping: against the dump's own estimate.
        expectedBytes: dump.expectedBytes,
      }),
      { run, dump },
    );
    forgetDump(run, dump);
    return out;
  } catch (err) {
    if (err instanceof WriterFailed) return { followed: false, reason: 'the dump attempt it followed failed' };
    throw err;
  } finally {
    await handle.close().catch(() => undefined);
    await reopened?.close().catch(() => undefined);
  }
}

/** The dump file as compress reads it: a fresh handle (offset 0), and whether pg_dump still writes it. */
interface DumpReading {
  handle: fs.FileHandle;
  state: () => LiveState;
  /** Opens the finished file again where a FUSE file system refuses reads on the handle after the rename. */
  reopen?: () => Promise<fs.FileHandle>;
}

/**
 * Compresses the dump into `tap` and `sink` by the engine this host allows (see
 * compression/engine): the program reading the file itself, or the worker reading it. Returns
 * the pipeline's end, and how far into the dump it has read so far.
 */
function compressDump(
  config: WorkerConfig,
  engine: CompressEngine,
  dump: DumpReading,
  tap: Sha256PassThrough,
  sink: Writable,
  signal: AbortSignal,
): { written: Promise<void>; bytesIn: () => number } {
  // The reader is made by the pipeline, with its signal: when the output fails (a full disk)
  // while the reader waits for pg_dump, the reader stops at once instead of at pg_dump's next write.
  const readerSignal = (pipelineSignal?: AbortSignal) => (pipelineSignal ? AbortSignal.any([signal, pipelineSignal]) : signal);
  if (engine.reads === 'program') {
    const { handle, state } = dump;
    const compressed = (opts?: { signal?: AbortSignal }) => compressInSegments(handle, { program: engine.program, state, signal: readerSignal(opts?.signal) });
    return { written: pipeline(compressed, tap, sink, { signal }), bytesIn: () => inputPosition(handle) };
  }
  let bytesIn = 0;
  const { kind, level } = config.compression;
  const follow = (opts?: { signal?: AbortSignal }) =>
    followFile(dump.handle, {
      state: dump.state,
      chunkSize: READ_CHUNK,
      pollMs: FOLLOW_POLL_MS,
      signal: readerSignal(opts?.signal),
      onRead: (n) => (bytesIn = n),
      reopen: dump.reopen,
      // gzipChunks copies each chunk before it asks for the next; the zstd child's pipe may still hold one.
      reuseBuffer: kind === 'gzip',
    });
  const written =
    kind === 'gzip'
      ? // The generator form, not a Transform: it takes a chunk only when done with the last (see followFile's reuseBuffer).
        pipeline((opts?: { signal?: AbortSignal }) => gzipChunks(follow(opts), { level }), tap, sink, { signal })
      : pipeline(follow, createZstdCompress({ level }), tap, sink, { signal });
  return { written, bytesIn: () => bytesIn };
}

/** A retry after the previous attempt published but could not report back: finish, don't redo. */
async function alreadyCompressed(sqlPath: string): Promise<CompressOutput | undefined> {
  for (const kind of COMPRESSIONS) {
    const outPath = sqlPath + compressedSuffix(kind);
    if (!(await exists(outPath))) continue;
    await removeQuietly(sqlPath);
    // No sha256: `stat` computes it from the file (this path is a rare retry).
    return { sqlPath, path: outPath, fileName: path.basename(outPath), bytesIn: 0, bytesOut: (await fs.stat(outPath)).size };
  }
  return undefined;
}

/**
 * Compresses the dump into `<sqlPath>.gz.part` (`.zst.part`), hashing what it writes, publishes
 * `<sqlPath>.gz`, then removes `<sqlPath>`. Beside a dump (`beside`), the output is announced
 * to a `verify` of the same run, which restores it as it grows.
 */
async function compressToBackup(
  config: WorkerConfig,
  sqlPath: string,
  dump: DumpReading,
  details: (bytesIn: number) => object | Promise<object>,
  beside?: { run: string; dump: LiveDump },
): Promise<CompressOutput> {
  const outPath = sqlPath + compressedSuffix(config.compression.kind);
  const fileName = path.basename(outPath);
  const engine = await chooseCompressEngine(config.compression, path.dirname(outPath));
  await recordFiles(sqlPath, `${outPath}.part`, outPath);
  const { partPath, handle } = await openPart(outPath);
  let published = false;
  let announced: Announced<CompressionResult> | undefined;
  try {
    if (beside) announced = announceCompression(beside.run, { path: outPath, partPath, ino: (await handle.stat()).ino, dump: beside.dump });
    const signal = Context.current().cancellationSignal;
    const tap = new Sha256PassThrough();
    // flush: fsync before close, so the published file is durable.
    const sink = handle.createWriteStream({ flush: true });
    const { written, bytesIn: bytesRead } = compressDump(config, engine, dump, tap, sink, signal);
    await withHeartbeats(
      () => details(bytesRead()),
      written.catch((err) => {
        throwIfCancelled();
        // Another attempt would not find it either.
        if (err instanceof ZstdNotInstalled) throw ApplicationFailure.nonRetryable(err.message, 'ZstdNotInstalled');
        throw err;
      }),
    );
    const bytesOut = tap.bytes;
    const sha256 = tap.digest();
    const bytesIn = (await fs.stat(sqlPath)).size;
    await publishPart(partPath, outPath);
    published = true;
    announced?.complete({ bytes: bytesOut, sha256 });
    await fs.unlink(sqlPath);
    await forgetFiles(sqlPath, `${sqlPath}.part`, sqlPath, partPath);
    log.info('compressed', {
      file: fileName,
      compression: config.compression.kind,
      by: engine.reads === 'program' ? engine.program.command : 'worker',
      bytesIn,
      bytesOut,
    });
    return { sqlPath, path: outPath, fileName, bytesIn, bytesOut, sha256 };
  } finally {
    if (!published) {
      announced?.failed();
      await handle.close().catch(() => undefined);
      await removeQuietly(partPath);
    }
  }
}
