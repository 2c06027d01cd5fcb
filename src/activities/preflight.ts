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
 * reports the real problem in its own words. Returns the size: what the dump's percent and
 * time left are estimated from.
 */
export async function checkFreeSpace(config: WorkerConfig, target: DatabaseTarget): Promise<number | undefined> {
  const databaseBytes = await databaseSize(config, target);
  if (config.freeSpaceFactor === 0 || databaseBytes === undefined) return databaseBytes;
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
  return databaseBytes;
}

async function databaseSize(config: WorkerConfig, target: DatabaseTarget): Promise<number | undefined> {
  try {
    const [[text]] = await psqlRows(config.libpq, target, 'SELECT pg_database_size(current_database())', { timeoutMs: 30_000 });
    const bytes = Number(text);
    if (Number.isFinite(bytes)) return bytes;
  } catch {
    /* below */
  }
  log.info('could not read the database size: no free-space check, and no percent for the dump');
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
