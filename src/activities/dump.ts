import { spawn } from 'node:child_process';
import path from 'node:path';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ConfigError, databaseFor, secretsOf, type WorkerConfig } from '../config';
import { redact } from '../config/redact';
import type { DumpInput, DumpOutput } from '../common/types';
import { ensureBackupDir, fileIn, openPart, publishPart, removeQuietly } from './files';
import { BoundedText, pgDumpFailure } from './pg-dump-errors';
import { throwIfCancelled, withHeartbeats } from './progress';

/** Grace period between SIGTERM and SIGKILL when a dump is cancelled. */
const KILL_GRACE_MS = 3000;

/**
 * `dump`: pg_dump of the whole database, plain SQL, streamed by pg_dump itself straight into
 * `<name>.sql.part` (no bytes pass through Node), renamed to `<name>.sql` on success.
 */
export function makeDump(config: WorkerConfig) {
  return async function dump(input: DumpInput): Promise<DumpOutput> {
    let target;
    try {
      target = databaseFor(config, input.environment);
    } catch (err) {
      if (err instanceof ConfigError) throw ApplicationFailure.nonRetryable(err.message, 'ConfigError');
      throw err;
    }
    const baseName = `${fileSafe(target.database)}_${input.environment}_${input.timestamp}`;
    await ensureBackupDir(config.backupDir);
    const sqlPath = fileIn(config.backupDir, `${baseName}.sql`);
    const { partPath, handle } = await openPart(sqlPath);
    log.info('pg_dump starting', { database: target.database, from: target.variable, file: path.basename(sqlPath) });

    let published = false;
    try {
      await withHeartbeats(
        async () => ({ step: 'dump', bytes: (await handle.stat()).size }),
        runPgDump(config, target.safeUri, target.password, handle.fd),
      );
      const bytes = (await handle.stat()).size;
      await handle.sync();
      await handle.close();
      await publishPart(partPath, sqlPath);
      published = true;
      log.info('pg_dump finished', { file: path.basename(sqlPath), bytes });
      return { database: target.database, baseName, sqlPath, bytes };
    } finally {
      if (!published) {
        await handle.close().catch(() => undefined);
        await removeQuietly(partPath);
      }
    }
  };
}

function runPgDump(config: WorkerConfig, safeUri: string, password: string | undefined, outFd: number): Promise<void> {
  const signal = Context.current().cancellationSignal;
  const secrets = [...secretsOf(config), password];
  return new Promise<void>((resolve, reject) => {
    // The password travels only in the child's environment, never in argv (visible in /proc).
    const child = spawn(config.pgDumpPath, ['--format=plain', '--no-password', `--dbname=${safeUri}`], {
      env: {
        ...process.env,
        ...(password ? { PGPASSWORD: password } : {}),
        PGAPPNAME: process.env.PGAPPNAME ?? 'pg-backup-workflow',
      },
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
          ? ApplicationFailure.nonRetryable(`pg_dump not found at ${JSON.stringify(config.pgDumpPath)}: install PostgreSQL client tools or set BACKUP_PG_DUMP`, 'PgDumpMissing')
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
      else reject(pgDumpFailure(code, exitSignal, redact(stderr.toString(), secrets)));
    });
  });
}

/** Database names may hold any character; only these reach a file name (others become '_'). */
function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
}
