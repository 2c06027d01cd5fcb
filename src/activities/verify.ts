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
import type { DumpFilterReport } from '../postgres/dump-filter';
import { startDumpLoad, type DumpLoadResult } from '../postgres/dump-load';
import { classifyFailure as classifyStderr } from '../postgres/failure-kinds';
import { restoredRowCounts, rowCountDifferences } from '../postgres/row-counts';
import { scratchTemplate } from '../postgres/scratch-template';
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

    const template = await scratchTemplate(config.libpq, admin, signal);
    throwIfCancelled();
    // Recorded before it exists: a crash or a cancel right after still gets it dropped.
    await recordDatabase(input.path, scratchName);
    await sql(admin, `CREATE DATABASE ${quoteIdent(scratchName)} TEMPLATE ${template}`).catch((err) => {
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
      const loaded = await restoreInto(config, scratch, input.path);
      const restored = restoredRowCounts(input.rowCounts, loaded.copied);
      const differences = rowCountDifferences(input.rowCounts, restored);
      const largeObjects = input.largeObjects === undefined ? undefined : Number((await sql(scratch, LARGE_OBJECTS_COUNT))[0][0]);
      if (largeObjects !== input.largeObjects) differences.push(`large objects: ${input.largeObjects} in the source, ${largeObjects} restored`);
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
        ...(input.largeObjects ? { largeObjects } : {}),
        ...(skipped.length ? { skipped } : {}),
      };
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

const LARGE_OBJECTS_COUNT = 'SELECT count(*) FROM pg_catalog.pg_largeobject_metadata';

/**
 * gunzip → dump filter → psql, streamed, in one transaction, as the verifying role: ownership,
 * privileges and what only a superuser may create are left out (the file itself stays exactly
 * as pg_dump wrote it). A truncated or corrupt file fails here.
 */
async function restoreInto(config: WorkerConfig, scratch: DatabaseTarget, file: string): Promise<DumpLoadResult> {
  const total = (await fs.stat(file)).size;
  const source = createReadStream(file);
  const gunzip = createGunzip();
  const load = startDumpLoad(config.libpq, scratch, { filter: VERIFY_FILTER, signal: Context.current().cancellationSignal });
  let corrupt: Error | undefined;
  gunzip.once('error', (err) => (corrupt = err));
  try {
    return await withHeartbeats(
      () => ({ step: 'verify', bytes: source.bytesRead, total }),
      pipeline(source, gunzip, load.input).then(() => load.done),
    );
  } catch (err) {
    const cause = await load.done.then(
      () => err,
      (loadErr: unknown) => (loadErr instanceof LibpqError ? loadErr : err),
    );
    throwIfCancelled();
    if (corrupt) throw ApplicationFailure.nonRetryable(`verification failed: the backup file is corrupt or truncated: ${corrupt.message}`, 'BackupCorrupt');
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
