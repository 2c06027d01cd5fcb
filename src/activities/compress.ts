import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context, log } from '@temporalio/activity';
import { createParallelGzip } from '../compression/parallel-gzip';
import type { WorkerConfig } from '../config';
import type { CompressInput, CompressOutput, NothingFollowed } from '../common/types';
import { exists, openPart, publishPart, READ_CHUNK, removeQuietly } from '../files/files';
import { WriterFailed, followFile } from '../files/follow-file';
import { awaitDump, forgetDump, runKey, type LiveDump } from './live-dumps';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetFiles, recordFiles } from './run-files';

/** How long a compress started beside the dump waits for pg_dump to begin. */
const DUMP_START_WAIT_MS = 30_000;
/** How long it waits at the end of the growing file before reading again. */
const FOLLOW_POLL_MS = 20;

/**
 * `compress`: `<name>.sql` → `<name>.sql.gz`, streamed; the `.sql` is removed after. One standard
 * gzip member, compressed on every core (pigz-style blocks, see compression/parallel-gzip).
 * With `{ whileDumping: true }` it starts beside this run's `dump` and reads the file as
 * pg_dump writes it, so the two steps overlap instead of adding up.
 */
export function makeCompress(config: WorkerConfig, { dumpStartWaitMs = DUMP_START_WAIT_MS } = {}) {
  return async function compress(input: CompressInput): Promise<CompressOutput | NothingFollowed> {
    return 'whileDumping' in input ? compressWhileDumping(config, dumpStartWaitMs) : compressFile(config, input.sqlPath);
  };
}

async function compressFile(config: WorkerConfig, sqlPath: string): Promise<CompressOutput> {
  const done = await alreadyCompressed(sqlPath);
  if (done) return done;
  const totalIn = (await fs.stat(sqlPath)).size;
  const source = createReadStream(sqlPath, { highWaterMark: READ_CHUNK });
  return gzipToBackup(config, sqlPath, source, () => ({ step: 'compress', bytesIn: source.bytesRead, totalIn }));
}

/**
 * Follows the dump this run's `dump` step is writing on this worker. If there is none (the
 * dump has not started within `dumpStartWaitMs`) or the dump attempt fails, it says so and
 * leaves the work to a plain compress after the dump's retry; it never publishes a `.sql.gz`
 * before pg_dump finished and the dump step published `<name>.sql`.
 */
async function compressWhileDumping(config: WorkerConfig, dumpStartWaitMs: number): Promise<CompressOutput | NothingFollowed> {
  const { info, cancellationSignal: signal } = Context.current();
  const run = runKey(info);
  const dump = await awaitDump(run, dumpStartWaitMs, signal);
  throwIfCancelled();
  if (!dump) return { followed: false, reason: `the dump had not started after ${dumpStartWaitMs / 1000} s` };
  const done = await alreadyCompressed(dump.sqlPath);
  if (done) return done;
  const handle = await openDumpFile(dump);
  if (!handle) return { followed: false, reason: 'the dump attempt ended without its file' };

  let bytesIn = 0;
  let reopened: fs.FileHandle | undefined;
  try {
    const source = followFile(handle, {
      state: dump.state,
      chunkSize: READ_CHUNK,
      pollMs: FOLLOW_POLL_MS,
      signal,
      onRead: (n) => (bytesIn = n),
      reopen: async () => (reopened = await fs.open(dump.sqlPath, 'r')),
    });
    const out = await gzipToBackup(config, dump.sqlPath, source, async () => ({
      step: 'compress',
      bytesIn,
      // What pg_dump has written so far, while it still writes.
      totalIn: (await handle.stat()).size,
      dumping: dump.state() === 'writing',
      // Percent and time left while dumping: against the dump's own estimate.
      expectedBytes: dump.expectedBytes,
    }));
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

/** The dump's file, still `.part` or already published; only if it is the very file (inode) the dump announced. */
async function openDumpFile(dump: LiveDump): Promise<fs.FileHandle | undefined> {
  // The dump links `.sql` before it unlinks `.part`: when the first is gone the second is there.
  for (const file of [dump.partPath, dump.sqlPath]) {
    const handle = await fs.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) continue;
    if ((await handle.stat()).ino === dump.ino) return handle;
    await handle.close();
  }
  return undefined;
}

/** A retry after the previous attempt published but could not report back: finish, don't redo. */
async function alreadyCompressed(sqlPath: string): Promise<CompressOutput | undefined> {
  const gzPath = `${sqlPath}.gz`;
  if (!(await exists(gzPath))) return undefined;
  await removeQuietly(sqlPath);
  return { sqlPath, path: gzPath, fileName: path.basename(gzPath), bytesIn: 0, bytesOut: (await fs.stat(gzPath)).size };
}

/** Gzips `source` into `<sqlPath>.gz.part`, publishes `<sqlPath>.gz`, then removes `<sqlPath>`. */
async function gzipToBackup(
  config: WorkerConfig,
  sqlPath: string,
  source: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  details: () => object | Promise<object>,
): Promise<CompressOutput> {
  const gzPath = `${sqlPath}.gz`;
  const fileName = path.basename(gzPath);
  await recordFiles(sqlPath, `${gzPath}.part`, gzPath);
  const { partPath, handle } = await openPart(gzPath);
  let published = false;
  try {
    await withHeartbeats(
      details,
      pipeline(source, createParallelGzip({ level: config.gzipLevel }), handle.createWriteStream({ flush: true }), {
        signal: Context.current().cancellationSignal,
      }).catch((err) => {
        throwIfCancelled();
        throw err;
      }),
    );
    // The stream fsynced and closed the handle.
    const bytesOut = (await fs.stat(partPath)).size;
    const bytesIn = (await fs.stat(sqlPath)).size;
    await publishPart(partPath, gzPath);
    published = true;
    await fs.unlink(sqlPath);
    await forgetFiles(sqlPath, `${sqlPath}.part`, sqlPath, partPath);
    log.info('compressed', { file: fileName, bytesIn, bytesOut });
    return { sqlPath, path: gzPath, fileName, bytesIn, bytesOut };
  } finally {
    if (!published) {
      await handle.close().catch(() => undefined);
      await removeQuietly(partPath);
    }
  }
}
