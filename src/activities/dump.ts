import path from 'node:path';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ConfigError, databaseFor, secretsOf, type DatabaseTarget, type WorkerConfig } from '../config';
import { redact } from '../config/redact';
import { fileSafeName } from '../common/file-name';
import type { DumpInput, DumpOutput } from '../common/types';
import { claimBackupName } from './claim-name';
import { ensureBackupDir, publishPart, removeQuietly } from './files';
import { spawnLibpq } from './libpq-command';
import { BoundedText, pgDumpFailure } from './pg-dump-errors';
import { announceDump, runKey } from './live-dumps';
import { checkFreeSpace } from './preflight';
import { throwIfCancelled, withHeartbeats } from './progress';
import { SnapshotSession, type RowCounts } from './snapshot-session';

/** Grace period between SIGTERM and SIGKILL when a dump is cancelled. */
const KILL_GRACE_MS = 3000;

/**
 * `dump`: pg_dump of the whole database, plain SQL, written by pg_dump itself straight into
 * `<name>.sql.part` (no bytes pass through Node), renamed to `<name>.sql` on success.
 */
export function makeDump(config: WorkerConfig) {
  return async function dump(input: DumpInput): Promise<DumpOutput> {
    const target = resolveTarget(config, input.environment);
    await ensureBackupDir(config.backupDir);
    await checkFreeSpace(config, target);
    const { baseName, sqlPath, partPath, handle } = await claimBackupName(
      config.backupDir,
      `${fileSafeName(target.database)}_${input.environment}_${input.timestamp}`,
      input.firstSuffix,
    );
    log.info('pg_dump starting', { database: target.database, from: target.variable, file: path.basename(sqlPath) });

    // With verification on, the dump and the source row counts share one exported snapshot.
    const session = config.verify.enabled ? new SnapshotSession(config.pgDumpPath, target) : undefined;
    let published = false;
    let announced: ReturnType<typeof announceDump> | undefined;
    try {
      // A compress step beside this one reads the file as it grows (see live-dumps): announced
      // at once, so the snapshot export does not eat into the time it waits for the dump.
      if (input.announce) announced = announceDump(runKey(Context.current().info), { sqlPath, partPath, ino: (await handle.stat()).ino });
      const snapshot = await session?.exportSnapshot().catch(() => undefined);
      const counting = snapshot ? session!.rowCounts() : undefined;
      counting?.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      await withHeartbeats(async () => ({ step: 'dump', bytes: (await handle.stat()).size }), runPgDump(config, target, handle.fd, snapshot));
      const rowCounts = await sourceRowCounts(config, target, session, counting);
      const bytes = (await handle.stat()).size;
      await handle.sync();
      await handle.close();
      await publishPart(partPath, sqlPath);
      published = true;
      announced?.complete();
      log.info('pg_dump finished', { file: path.basename(sqlPath), bytes });
      return { database: target.database, baseName, sqlPath, bytes, rowCounts };
    } finally {
      session?.kill();
      if (!published) {
        announced?.failed();
        await handle.close().catch(() => undefined);
        await removeQuietly(partPath);
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

/** The counts taken in the dump's snapshot; the session must have worked if pg_dump did. */
async function sourceRowCounts(
  config: WorkerConfig,
  target: DatabaseTarget,
  session: SnapshotSession | undefined,
  counting: Promise<RowCounts> | undefined,
): Promise<RowCounts | undefined> {
  if (!session) return undefined;
  try {
    if (!counting) throw new Error('no snapshot was exported');
    const counts = await counting;
    await session.close();
    return counts;
  } catch (err) {
    const detail = redact(`${(err as Error).message} ${session.errors()}`, [...secretsOf(config), target.password]);
    throw ApplicationFailure.retryable(`could not count rows in the dump's snapshot for verification: ${detail.trim()}`, 'SnapshotSessionFailed');
  }
}

function runPgDump(config: WorkerConfig, target: DatabaseTarget, outFd: number, snapshot: string | undefined): Promise<void> {
  const signal = Context.current().cancellationSignal;
  const secrets = [...secretsOf(config), target.password];
  return new Promise<void>((resolve, reject) => {
    const child = spawnLibpq(config.pgDumpPath, ['--format=plain', '--no-password', ...(snapshot ? [`--snapshot=${snapshot}`] : [])], target, {
      stdio: ['ignore', outFd, 'pipe'],
    });
    const stderr = new BoundedText();
    child.stderr?.on('data', (chunk: Buffer) => stderr.append(chunk));

    let killTimer: NodeJS.Timeout | undefined;
    const onCancel = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onCancel, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', onCancel);
      reject(
        err.code === 'ENOENT'
          ? ApplicationFailure.nonRetryable(
              `pg_dump not found at ${JSON.stringify(config.pgDumpPath)}: install PostgreSQL client tools or set BACKUP_PG_DUMP`,
              'PgDumpMissing',
            )
          : err,
      );
    });
    child.on('close', (code, exitSignal) => {
      signal.removeEventListener('abort', onCancel);
      clearTimeout(killTimer);
      try {
        throwIfCancelled();
      } catch (cancelled) {
        reject(cancelled);
        return;
      }
      if (code === 0) resolve();
      else reject(pgDumpFailure(code, exitSignal, redact(stderr.toString(), secrets), config.backupDir));
    });
  });
}
