import path from 'node:path';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ConfigError, databaseFor, type DatabaseTarget, type WorkerConfig } from '../config';
import { fileSafeName } from '../common/file-name';
import type { DumpInput, DumpOutput } from '../common/types';
import type { Client } from '@temporalio/client';
import { claimBackupName } from '../files/claim-name';
import { removeLeftovers } from '../files/leftovers';
import { releaseRecord } from '../files/run-files';
import { ensureBackupDir, publishPart, removeQuietly } from '../files/files';
import { LibpqError, runLibpq } from '../postgres/libpq';
import type { RowCounts } from '../postgres/row-counts';
import { SnapshotSession } from '../postgres/snapshot-session';
import { libpqActivityFailure } from './libpq-failure';
import { announceDump, runKey } from './live-dumps';
import { checkAccess, checkFreeSpace } from './preflight';
import { leftoverOptions, logLeftovers, runRefOf } from './run-files';
import { throwIfCancelled, withHeartbeats } from './progress';

/**
 * `dump`: pg_dump of the whole database, plain SQL, written by pg_dump itself straight into
 * `<name>.sql.part` (no bytes pass through Node), renamed to `<name>.sql` on success.
 */
export function makeDump(config: WorkerConfig, client?: Client) {
  return async function dump(input: DumpInput): Promise<DumpOutput> {
    const target = resolveTarget(config, input.environment);
    const signal = Context.current().cancellationSignal;
    await ensureBackupDir(config.backupDir);
    const cleanup = leftoverOptions(config, client);
    // What crashed or finished runs left here goes first: it may be holding the space this dump needs.
    logLeftovers(config.backupDir, await removeLeftovers(config.backupDir, cleanup));
    // pg_database_size(): what the dump's percent and time left are estimated from (shown with `~`).
    const expectedBytes = await checkFreeSpace(config, target);
    await checkAccess(config, target);
    const { baseName, sqlPath, partPath, handle, recordPath } = await claimBackupName(
      config.backupDir,
      `${fileSafeName(target.database)}_${input.environment}_${input.timestamp}`,
      { ...runRefOf(), environment: input.environment },
      cleanup,
      input.firstSuffix,
    );
    log.info('pg_dump starting', { database: target.database, from: target.variable, file: path.basename(sqlPath) });

    // With verification on, the dump and the source row counts share one exported snapshot.
    const session = config.verify.enabled ? new SnapshotSession(config.libpq, target, signal) : undefined;
    let published = false;
    let announced: ReturnType<typeof announceDump> | undefined;
    try {
      // A compress step beside this one reads the file as it grows (see live-dumps): announced
      // at once, so the snapshot export does not eat into the time it waits for the dump.
      if (input.announce) announced = announceDump(runKey(Context.current().info), { sqlPath, partPath, ino: (await handle.stat()).ino, expectedBytes });
      // A session that cannot start fails the attempt now, before a whole dump is written for nothing.
      const snapshot = await session?.exportSnapshot().catch((err) => {
        throwIfCancelled();
        throw sessionFailure(err, target);
      });
      const counting = snapshot ? session!.rowCounts() : undefined;
      counting?.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      const pgDump = runLibpq(config.libpq, 'pgDump', {
        args: ['--format=plain', '--no-password', ...(snapshot ? [`--snapshot=${snapshot}`] : [])],
        target,
        stdout: handle.fd,
        signal,
      });
      await withHeartbeats(
        async () => ({ step: 'dump', database: target.database, bytes: (await handle.stat()).size, expectedBytes }),
        pgDump.done().catch((err) => {
          throwIfCancelled();
          throw dumpFailure(err, config.backupDir);
        }),
      );
      const { rowCounts, largeObjects } = (await sourceRowCounts(session, counting)) ?? {};
      const bytes = (await handle.stat()).size;
      // No fsync (it cost ~1.4 s per GB on the critical path): the `.sql` only lives until compress
      // has published its own fsynced file. After an OS crash the worker comes back on a new host
      // queue and the run redoes its file steps there, so an unsynced `.sql` is never read again.
      await handle.close();
      await publishPart(partPath, sqlPath);
      published = true;
      announced?.complete({ rowCounts, largeObjects });
      log.info('pg_dump finished', { file: path.basename(sqlPath), bytes });
      return { database: target.database, baseName, sqlPath, bytes, rowCounts, largeObjects };
    } finally {
      session?.kill();
      if (!published) {
        announced?.failed();
        await handle.close().catch(() => undefined);
        await removeQuietly(partPath);
        // Nothing of this attempt is left: the name is free again.
        await releaseRecord(recordPath).catch(() => undefined);
      }
    }
  };
}

function resolveTarget(config: WorkerConfig, environment: string): DatabaseTarget {
  try {
    return databaseFor(config, environment);
  } catch (err) {
    if (err instanceof ConfigError) throw ApplicationFailure.nonRetryable(err.message, 'ConfigError');
    throw err;
  }
}

const CONNECTION_KINDS: string[] = ['connection-refused', 'connection-lost', 'unknown-host', 'authentication', 'ssl', 'server-terminated', 'missing-object'];

/**
 * The counting session is the run's first connection: a database that cannot be reached is
 * said as such; anything else is the session's own problem (psql missing, no slot left, …).
 */
function sessionFailure(err: unknown, target: DatabaseTarget): unknown {
  if (err instanceof LibpqError && CONNECTION_KINDS.includes(err.kind)) {
    const message = `cannot connect to the database ${target.safeUri}: ${err.stderr || err.message}`;
    const type = `Database${err.kind.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}`;
    return err.retryable ? ApplicationFailure.retryable(message, type) : ApplicationFailure.nonRetryable(message, type);
  }
  return libpqActivityFailure(err, "could not open the session that counts rows in the dump's snapshot (for verification): ");
}

/** A full disk says which directory; everything else as the runner classified it. */
function dumpFailure(err: unknown, backupDir: string): unknown {
  const failure = libpqActivityFailure(err);
  if (failure instanceof ApplicationFailure && failure.type === 'PgDumpDiskFull') {
    return ApplicationFailure.nonRetryable(`no space left on device in ${backupDir}: ${failure.message}`, failure.type);
  }
  return failure;
}

/** The counts taken in the dump's snapshot; the session must have worked if pg_dump did. */
async function sourceRowCounts(
  session: SnapshotSession | undefined,
  counting: Promise<RowCounts> | undefined,
): Promise<{ rowCounts: RowCounts; largeObjects: number } | undefined> {
  if (!session) return undefined;
  try {
    if (!counting) throw new Error('no snapshot was exported');
    const rowCounts = await counting;
    const largeObjects = await session.largeObjectCount();
    await session.close();
    return { rowCounts, largeObjects };
  } catch (err) {
    throw ApplicationFailure.retryable(`could not count rows in the dump's snapshot for verification: ${(err as Error).message}`, 'SnapshotSessionFailed');
  }
}
