import fs from 'node:fs/promises';
import { ApplicationFailure, log } from '@temporalio/activity';
import type { DatabaseTarget, WorkerConfig } from '../config';
import { humanSize } from '../common/human-size';
import { LibpqError, psqlRows } from '../postgres/libpq';
import { ACCESS_PREFLIGHT_SQL, parseAccessPreflight } from '../postgres/rls-preflight';

/**
 * Fails fast, before any byte is written, when the backup directory clearly cannot hold the
 * dump: free space must be at least BACKUP_FREE_SPACE_FACTOR × pg_database_size().
 * When the size cannot be read (e.g. the server is down), the check is skipped and pg_dump
 * reports the real problem in its own words.
 */
export async function checkFreeSpace(config: WorkerConfig, target: DatabaseTarget): Promise<void> {
  if (config.freeSpaceFactor === 0) return;
  const databaseBytes = await databaseSize(config, target);
  if (databaseBytes === undefined) return;
  const stats = await fs.statfs(config.backupDir);
  const free = stats.bavail * stats.bsize;
  const needed = Math.ceil(databaseBytes * config.freeSpaceFactor);
  if (free < needed) {
    throw ApplicationFailure.nonRetryable(
      `not enough free space in ${config.backupDir}: ${humanSize(free)} free, the database ${target.database} is ` +
        `${humanSize(databaseBytes)} and BACKUP_FREE_SPACE_FACTOR=${config.freeSpaceFactor} asks for ${humanSize(needed)}`,
      'InsufficientSpace',
    );
  }
}

async function databaseSize(config: WorkerConfig, target: DatabaseTarget): Promise<number | undefined> {
  try {
    const [[text]] = await psqlRows(config.libpq, target, 'SELECT pg_database_size(current_database())', { timeoutMs: 30_000 });
    const bytes = Number(text);
    if (Number.isFinite(bytes)) return bytes;
  } catch {
    /* below */
  }
  log.info('free-space check skipped: could not read the database size');
  return undefined;
}

/**
 * Fails at once, before pg_dump starts, when the role could not read everything: tables under
 * row-level security (without BYPASSRLS, or FORCE even for the owner) and large objects it may
 * not read would stop pg_dump half-way on every attempt. When the check itself cannot run
 * (e.g. the server is down), the snapshot session or pg_dump reports the real problem.
 */
export async function checkAccess(config: WorkerConfig, target: DatabaseTarget): Promise<void> {
  let output: string;
  try {
    output = (await psqlRows(config.libpq, target, ACCESS_PREFLIGHT_SQL, { timeoutMs: 60_000 }))[0]?.join('') ?? '';
  } catch (err) {
    log.info('access pre-flight skipped: it could not run', { error: err instanceof LibpqError ? err.kind : String(err) });
    return;
  }
  const access = parseAccessPreflight(output);
  if (access.problem) throw ApplicationFailure.nonRetryable(access.problem, 'BackupRoleCannotReadEverything');
}
