import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { compressionOfName, type Compression } from '../common/backup-suffix';
import { createDecompressor, isCorruptInput } from '../compression/decompress';
import { ZstdNotInstalled } from '../compression/zstd';
import { databaseFor, type DatabaseTarget, type WorkerConfig } from '../config';
import { withDatabaseName } from '../config/database-url';
import type { NothingFollowed, VerifyBesideOutput, VerifyInput, VerifyOutput } from '../common/types';
import { READ_CHUNK } from '../files/files';
import { WriterFailed, followFile } from '../files/follow-file';
import { LibpqError, psqlRows, quoteIdent } from '../postgres/libpq';
import type { DumpFilterReport } from '../postgres/dump-filter';
import { startDumpLoad, type DumpLoadResult } from '../postgres/dump-load';
import { classifyFailure as classifyStderr } from '../postgres/failure-kinds';
import { restoredRowCounts, rowCountDifferences } from '../postgres/row-counts';
import { scratchTemplate } from '../postgres/scratch-template';
import { libpqActivityFailure } from './libpq-failure';
import { awaitCompression, forgetCompression, openAnnounced, runKey } from './live-dumps';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetDatabase, recordDatabase } from './run-files';

/** How long a verify started beside compress waits for it to begin (compress itself waits up to 30 s for the dump). */
const COMPRESS_START_WAIT_MS = 45_000;
/** How long it waits at the end of the growing compressed file before reading again. */
const FOLLOW_POLL_MS = 20;

/**
 * `verify`: restores the new backup into a scratch database and compares every table's row
 * count with the source's, counted in the very snapshot pg_dump dumped. The scratch database
 * is always dropped: on success, failure and cancellation.
 *
 * With `{ whileCompressing: true }` it starts beside this run's `compress` (and `dump`) and
 * restores the compressed file as compress writes it, through the decompressor, so it checks
 * the very bytes that land on disk; the scratch database is created while it waits for the
 * first of them. It says it verified that file only once compress has published it whole, the
 * restore has read every byte of it and the counts match. If compress fails or is replaced,
 * it stops, drops what it made and says it had nothing to follow; the workflow then verifies
 * the finished file afterwards, as without it.
 */
export function makeVerify(config: WorkerConfig, { compressStartWaitMs = COMPRESS_START_WAIT_MS } = {}) {
  return async function verify(input: VerifyInput): Promise<VerifyOutput | VerifyBesideOutput | NothingFollowed> {
    if ('whileCompressing' in input) return verifyWhileCompressing(config, input.environment, compressStartWaitMs);
    const { rowCounts, largeObjects } = input;
    return verifyWith(config, input.environment, input.path, async (scratch, restore) => {
      const handle = await fs.open(input.path, 'r');
      try {
        const total = (await handle.stat()).size;
        let bytes = 0;
        const source = followFile(handle, {
          state: () => 'complete',
          chunkSize: READ_CHUNK,
          pollMs: FOLLOW_POLL_MS,
          signal: Context.current().cancellationSignal,
          onRead: (n) => (bytes = n),
        });
        const loaded = await restore(source, compressionOf(input.path), () => ({ step: 'verify', bytes, total }));
        return await compare(config, scratch, loaded, { rowCounts, largeObjects });
      } finally {
        await handle.close().catch(() => undefined);
      }
    });
  };
}

/** Follows this run's compress as it writes (see makeVerify). */
async function verifyWhileCompressing(config: WorkerConfig, environment: string, waitMs: number): Promise<VerifyBesideOutput | NothingFollowed> {
  const { info, cancellationSignal: signal } = Context.current();
  const compression = await awaitCompression(runKey(info), waitMs, signal);
  throwIfCancelled();
  if (!compression) return { followed: false, reason: `compress had not started after ${waitMs / 1000} s` };
  if (compression.state() === 'failed') return { followed: false, reason: 'the compress attempt it would follow failed' };
  try {
    const verification = await verifyWith(config, environment, compression.path, async (scratch, restore) => {
      const handle = await openAnnounced([compression.partPath, compression.path], compression.ino);
      if (!handle) throw new WriterFailed();
      let reopened: fs.FileHandle | undefined;
      try {
        let bytes = 0;
        const source = followFile(handle, {
          state: compression.state,
          chunkSize: READ_CHUNK,
          pollMs: FOLLOW_POLL_MS,
          signal,
          onRead: (n) => (bytes = n),
          reopen: async () => (reopened = await fs.open(compression.path, 'r')),
        });
        const loaded = await restore(source, compressionOf(compression.path), async () => ({
          step: 'verify',
          bytes,
          // What compress has written so far, while it still writes.
          total: (await handle.stat()).size,
          compressing: compression.state() === 'writing',
        }));
        const written = compression.result();
        const counts = compression.dump.result();
        // Compress completes only after the dump did, with the file whole and published.
        if (!written || !counts?.rowCounts) throw new WriterFailed();
        if (bytes !== written.bytes) {
          throw ApplicationFailure.retryable(`the restore read ${bytes} of the ${written.bytes} bytes compress wrote: trying again`, 'VerifyIncomplete');
        }
        return await compare(config, scratch, loaded, { rowCounts: counts.rowCounts, largeObjects: counts.largeObjects });
      } finally {
        await handle.close().catch(() => undefined);
        await reopened?.close().catch(() => undefined);
      }
    });
    // Judged: nothing will follow this compression again.
    forgetCompression(runKey(info), compression);
    return { followed: true, path: compression.path, verification };
  } catch (err) {
    if (err instanceof WriterFailed) return { followed: false, reason: 'the compress attempt it followed failed' };
    throw err;
  }
}

function compressionOf(file: string): Compression {
  const compression = compressionOfName(path.basename(file));
  if (!compression) throw ApplicationFailure.nonRetryable(`${path.basename(file)} is not a compressed backup (.sql.gz or .sql.zst)`, 'NotABackup');
  return compression;
}

type Restore = (source: AsyncIterable<Buffer>, compression: Compression, details: () => object | Promise<object>) => Promise<DumpLoadResult>;

/**
 * Creates the scratch database (recorded first, in the record of `file`'s backup), hands `work`
 * a way to restore into it, and drops it whatever happens.
 */
async function verifyWith<T>(
  config: WorkerConfig,
  environment: string,
  file: string,
  work: (scratch: DatabaseTarget, restore: Restore) => Promise<T>,
): Promise<T> {
  const source = databaseFor(config, environment);
  const admin = config.verify.server ?? source;
  const scratchName = `pgbw_verify_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const scratch = withDatabaseName(admin, scratchName);
  const signal = Context.current().cancellationSignal;

  const template = await scratchTemplate(config.libpq, admin, signal);
  throwIfCancelled();
  // Recorded before it exists: a crash or a cancel right after still gets it dropped.
  await recordDatabase(file, scratchName);
  try {
    await psqlRows(config.libpq, admin, `CREATE DATABASE ${quoteIdent(scratchName)} TEMPLATE ${template}`, { signal }).catch((err) => {
      throwIfCancelled();
      if (err instanceof LibpqError && /permission denied to create database/.test(err.stderr)) {
        throw ApplicationFailure.nonRetryable(
          `verification needs a role that may create a scratch database on ${config.verify.server ? 'BACKUP_VERIFY_DATABASE_URL' : 'the source server'}: ` +
            `grant it CREATEDB, set BACKUP_VERIFY_DATABASE_URL to a server and role that can, or set BACKUP_VERIFY=false`,
          'VerifyNotPermitted',
        );
      }
      throw libpqActivityFailure(err, 'could not create the scratch database for verification: ');
    });
    log.info('verifying backup in a scratch database', { file, scratchDatabase: scratchName });
    return await work(scratch, (input, compression, details) => restoreInto(config, scratch, input, compression, details));
  } finally {
    // WITH (FORCE) ends any session still attached (e.g. a psql we were cancelled out of). Not
    // cancellable: it must run also when the step was cancelled. IF EXISTS: CREATE may not have run.
    await psqlRows(config.libpq, admin, `DROP DATABASE IF EXISTS ${quoteIdent(scratchName)} WITH (FORCE)`, { timeoutMs: 60_000 }).then(
      () => forgetDatabase(file, scratchName),
      (err) => log.error("could not drop the scratch database: the run's cleanup will try again", { scratchDatabase: scratchName, error: String(err) }),
    );
  }
}

/** Restored rows and large objects against the source's, in the dump's snapshot. */
async function compare(
  config: WorkerConfig,
  scratch: DatabaseTarget,
  loaded: DumpLoadResult,
  source: { rowCounts: Record<string, number>; largeObjects?: number },
): Promise<VerifyOutput> {
  const restored = restoredRowCounts(source.rowCounts, loaded.copied);
  const differences = rowCountDifferences(source.rowCounts, restored);
  const largeObjects =
    source.largeObjects === undefined
      ? undefined
      : Number((await psqlRows(config.libpq, scratch, LARGE_OBJECTS_COUNT, { signal: Context.current().cancellationSignal }))[0][0]);
  if (largeObjects !== source.largeObjects) differences.push(`large objects: ${source.largeObjects} in the source, ${largeObjects} restored`);
  if (differences.length) {
    throw ApplicationFailure.nonRetryable(
      `verification failed: the restored backup differs from the source: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? ` (and ${differences.length - 5} more)` : ''}`,
      'VerificationMismatch',
    );
  }
  const rows = Object.values(restored).reduce((a, b) => a + b, 0);
  const skipped = notVerified(loaded.report);
  if (skipped.length) log.info('verification left out objects that need a superuser and hold no rows', { skipped });
  return {
    verified: true,
    tables: Object.keys(restored).length,
    rows,
    ...(source.largeObjects ? { largeObjects } : {}),
    ...(skipped.length ? { skipped } : {}),
  };
}

const LARGE_OBJECTS_COUNT = 'SELECT count(*) FROM pg_catalog.pg_largeobject_metadata';

/**
 * decompress → dump filter → psql, streamed, in one transaction, as the verifying role:
 * ownership, privileges and what only a superuser may create are left out (the file itself
 * stays exactly as pg_dump wrote it). A truncated or corrupt file fails here. The session gets
 * BACKUP_VERIFY_MAINTENANCE_WORK_MEM for its index builds.
 */
async function restoreInto(
  config: WorkerConfig,
  scratch: DatabaseTarget,
  source: AsyncIterable<Buffer>,
  compression: Compression,
  details: () => object | Promise<object>,
): Promise<DumpLoadResult> {
  const decompress = createDecompressor(compression);
  const load = startDumpLoad(config.libpq, scratch, {
    filter: VERIFY_FILTER,
    prefix: `SET maintenance_work_mem = '${config.verify.maintenanceWorkMem}';\n`,
    signal: Context.current().cancellationSignal,
  });
  let corrupt: Error | undefined;
  decompress.once('error', (err) => (corrupt = err));
  try {
    return await withHeartbeats(
      details,
      pipeline(source, decompress, load.input).then(() => load.done),
    );
  } catch (err) {
    // The compress it followed failed: nothing to judge (see verifyWhileCompressing).
    if (err instanceof WriterFailed) throw err;
    const cause = await load.done.then(
      () => err,
      (loadErr: unknown) => (loadErr instanceof LibpqError ? loadErr : err),
    );
    throwIfCancelled();
    if (corrupt instanceof ZstdNotInstalled) throw ApplicationFailure.nonRetryable(`verification failed: ${corrupt.message}`, 'ZstdNotInstalled');
    if (corrupt && isCorruptInput(corrupt)) {
      throw ApplicationFailure.nonRetryable(`verification failed: the backup file is corrupt or truncated: ${corrupt.message}`, 'BackupCorrupt');
    }
    if (cause instanceof LibpqError && !cause.retryable) {
      const fix = classifyStderr(cause.stderr, { program: 'psql', role: scratch.user }).hint;
      const hint = cause.kind === 'extension-not-permitted' || cause.kind === 'extension-not-available' ? ` — ${fix}` : '';
      throw ApplicationFailure.nonRetryable(`verification failed: restoring the backup failed: ${cause.stderr || cause.message}${hint}`, 'RestoreFailed');
    }
    throw libpqActivityFailure(cause, 'verification failed: ');
  }
}

const VERIFY_FILTER = { ownership: 'drop', privileges: 'drop', superuserObjects: 'drop' } as const;

/** What the scratch database did not get, beyond ownership and privileges: e.g. `publication orders_pub`. */
function notVerified(report: DumpFilterReport): string[] {
  return report.superuserObjects;
}
