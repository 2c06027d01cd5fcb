import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { databaseFor, type DatabaseTarget, type WorkerConfig } from '../config';
import { withDatabaseName } from '../config/database-url';
import type { VerifyInput, VerifyOutput } from '../common/types';
import { LibpqError, psqlRows, quoteIdent } from '../postgres/libpq';
import { startPsqlLoad } from '../postgres/psql-load';
import { ROW_COUNTS_SQL, parseRowCounts, rowCountDifferences } from '../postgres/row-counts';
import { libpqActivityFailure } from './libpq-failure';
import { throwIfCancelled, withHeartbeats } from './progress';
import { forgetDatabase, recordDatabase } from './run-files';

/**
 * `verify`: restores the new `.sql.gz` into a scratch database and compares every table's row
 * count with the source's, counted in the very snapshot pg_dump dumped. The scratch database
 * is always dropped: on success, failure and cancellation.
 */
export function makeVerify(config: WorkerConfig) {
  return async function verify(input: VerifyInput): Promise<VerifyOutput> {
    const source = databaseFor(config, input.environment);
    const admin = config.verify.server ?? source;
    const scratchName = `pgbw_verify_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const scratch = withDatabaseName(admin, scratchName);
    const signal = Context.current().cancellationSignal;
    const sql = (target: DatabaseTarget, statement: string) => psqlRows(config.libpq, target, statement, { signal });

    // Recorded before it exists: a crash or a cancel right after still gets it dropped.
    await recordDatabase(input.path, scratchName);
    await sql(admin, `CREATE DATABASE ${quoteIdent(scratchName)} TEMPLATE template0`).catch((err) => {
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
    log.info('verifying backup in a scratch database', { file: input.path, scratchDatabase: scratchName });
    try {
      await restoreInto(config, scratch, input.path);
      const restored = parseRowCounts((await sql(scratch, ROW_COUNTS_SQL)).map((fields) => fields.join('|')));
      const differences = rowCountDifferences(input.rowCounts, restored);
      if (differences.length) {
        throw ApplicationFailure.nonRetryable(
          `verification failed: the restored backup differs from the source: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? ` (and ${differences.length - 5} more)` : ''}`,
          'VerificationMismatch',
        );
      }
      const rows = Object.values(restored).reduce((a, b) => a + b, 0);
      return { verified: true, tables: Object.keys(restored).length, rows };
    } finally {
      // WITH (FORCE) ends any session still attached (e.g. a psql we were cancelled out of). Not
      // cancellable: it must run also when the step was cancelled.
      await psqlRows(config.libpq, admin, `DROP DATABASE IF EXISTS ${quoteIdent(scratchName)} WITH (FORCE)`, { timeoutMs: 60_000 }).then(
        () => forgetDatabase(input.path, scratchName),
        (err) => log.error("could not drop the scratch database: the run's cleanup will try again", { scratchDatabase: scratchName, error: String(err) }),
      );
    }
  };
}

/** gunzip → psql, streamed, in one transaction; a truncated or corrupt file fails here. */
async function restoreInto(config: WorkerConfig, scratch: DatabaseTarget, file: string): Promise<void> {
  const total = (await fs.stat(file)).size;
  const source = createReadStream(file);
  const gunzip = createGunzip();
  const load = startPsqlLoad(config.libpq, scratch, { signal: Context.current().cancellationSignal });
  let corrupt: Error | undefined;
  gunzip.once('error', (err) => (corrupt = err));
  try {
    await withHeartbeats(
      () => ({ step: 'verify', bytes: source.bytesRead, total }),
      pipeline(source, gunzip, load.input).then(() => load.done),
    );
  } catch (err) {
    await load.done.catch(() => undefined);
    throwIfCancelled();
    if (corrupt) throw ApplicationFailure.nonRetryable(`verification failed: the backup file is corrupt or truncated: ${corrupt.message}`, 'BackupCorrupt');
    if (err instanceof LibpqError && err.kind !== 'unreachable' && err.kind !== 'resource') {
      throw ApplicationFailure.nonRetryable(`verification failed: restoring the backup failed: ${err.stderr || err.message}`, 'RestoreFailed');
    }
    throw libpqActivityFailure(err, 'verification failed: ');
  }
}
