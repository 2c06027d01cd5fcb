import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { databaseFor, secretsOf, type DatabaseTarget, type WorkerConfig } from '../config';
import { withDatabaseName } from '../config/database-url';
import { redact } from '../config/redact';
import type { VerifyInput, VerifyOutput } from '../common/types';
import { psqlBeside, spawnLibpq } from './libpq-command';
import { BoundedText, withoutRowData } from './pg-dump-errors';
import { throwIfCancelled, withHeartbeats } from './progress';
import { ROW_COUNTS_SQL, parseRowCounts, type RowCounts } from './snapshot-session';

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
    const secrets = [...secretsOf(config), source.password];
    const run = (target: DatabaseTarget, sql: string) => runPsql(config, target, ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], secrets);

    await run(admin, `CREATE DATABASE ${quoteIdent(scratchName)} TEMPLATE template0`).catch((err) => {
      if (!/permission denied to create database/.test(String(err.message))) throw err;
      throw ApplicationFailure.nonRetryable(
        `verification needs a role that may create a scratch database on ${config.verify.server ? 'BACKUP_VERIFY_DATABASE_URL' : 'the source server'}: ` +
          `grant it CREATEDB, set BACKUP_VERIFY_DATABASE_URL to a server and role that can, or set BACKUP_VERIFY=false`,
        'VerifyNotPermitted',
      );
    });
    log.info('verifying backup in a scratch database', { file: input.path, scratchDatabase: scratchName });
    try {
      await restoreInto(config, scratch, input.path, secrets);
      const restored = parseRowCounts((await run(scratch, ROW_COUNTS_SQL)).split('\n'));
      const differences = compare(input.rowCounts, restored);
      if (differences.length) {
        throw ApplicationFailure.nonRetryable(
          `verification failed: the restored backup differs from the source: ${differences.slice(0, 5).join('; ')}${differences.length > 5 ? ` (and ${differences.length - 5} more)` : ''}`,
          'VerificationMismatch',
        );
      }
      const rows = Object.values(restored).reduce((a, b) => a + b, 0);
      return { verified: true, tables: Object.keys(restored).length, rows };
    } finally {
      // WITH (FORCE) ends any session still attached (e.g. a psql we were cancelled out of).
      await run(admin, `DROP DATABASE IF EXISTS ${quoteIdent(scratchName)} WITH (FORCE)`).catch((err) =>
        log.error('could not drop the scratch database: drop it by hand', { scratchDatabase: scratchName, error: String(err) }),
      );
    }
  };
}

/** gunzip → psql, streamed; a truncated or corrupt file fails here. */
async function restoreInto(config: WorkerConfig, scratch: DatabaseTarget, file: string, secrets: Array<string | undefined>): Promise<void> {
  const total = (await fs.stat(file)).size;
  const source = createReadStream(file);
  const psql = spawnLibpq(psqlBeside(config.pgDumpPath), ['-Xq', '--no-password', '-v', 'ON_ERROR_STOP=1', '--single-transaction'], scratch, {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const stderr = new BoundedText();
  psql.stderr?.on('data', (chunk: Buffer) => stderr.append(chunk));
  // 'error' (spawn failed: EMFILE, ENOMEM…) must be handled, or it would take the worker down.
  const exited = new Promise<number | null>((resolve) => {
    psql.on('error', (err) => {
      stderr.append(String(err));
      resolve(null);
    });
    psql.on('close', resolve);
  });
  const signal = Context.current().cancellationSignal;
  const onCancel = () => psql.kill('SIGTERM');
  signal.addEventListener('abort', onCancel, { once: true });

  let streamError: Error | undefined;
  try {
    await withHeartbeats(
      () => ({ step: 'verify', bytes: source.bytesRead, total }),
      pipeline(source, createGunzip(), psql.stdin!).catch((err: Error) => {
        streamError = err;
        psql.kill('SIGTERM');
      }),
    );
    const code = await exited;
    throwIfCancelled();
    if (streamError && (streamError as NodeJS.ErrnoException).code !== 'EPIPE') {
      throw ApplicationFailure.nonRetryable(`verification failed: the backup file is corrupt or truncated: ${streamError.message}`, 'BackupCorrupt');
    }
    if (code !== 0) {
      throw ApplicationFailure.nonRetryable(
        `verification failed: restoring the backup failed: ${redact(withoutRowData(stderr.toString()).trim(), secrets)}`,
        'RestoreFailed',
      );
    }
  } finally {
    signal.removeEventListener('abort', onCancel);
  }
}

function compare(expected: RowCounts, actual: RowCounts): string[] {
  const differences: string[] = [];
  for (const table of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[table] !== actual[table]) {
      differences.push(`${table}: ${expected[table] ?? 'missing'} rows in the source, ${actual[table] ?? 'missing'} restored`);
    }
  }
  return differences;
}

function runPsql(config: WorkerConfig, target: DatabaseTarget, args: string[], secrets: Array<string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnLibpq(psqlBeside(config.pgDumpPath), ['--no-password', ...args], target, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const stderr = new BoundedText();
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => stderr.append(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim()) : reject(ApplicationFailure.retryable(`psql failed: ${redact(stderr.toString().trim(), secrets)}`, 'PsqlFailed')),
    );
  });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
