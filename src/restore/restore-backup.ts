import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline as pipelineCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressionOfName, type Compression } from '../common/backup-suffix';
import { createDecompressor, isCorruptInput } from '../compression/decompress';
import { ZstdNotInstalled } from '../compression/zstd';
import { ConfigError } from '../config/config-error';
import type { DatabaseTarget } from '../config/database-url';
import { READ_CHUNK } from '../files/files';
import { Sha256PassThrough } from '../files/sha256';
import { readSidecar } from '../files/sidecar';
import { DumpFilterRefusal, type SkippedKind } from '../postgres/dump-filter';
import { startDumpLoad, type DumpLoadResult } from '../postgres/dump-load';
import { LibpqError, type LibpqContext } from '../postgres/libpq';
import { renderRolesScript } from '../postgres/roles';
import { tableRowCounts, userTables, type TableRows } from '../postgres/row-counts';
import { checkBackupFile } from './backup-files';
import { decryptingStream } from './decrypt';
import { RestoreError } from './errors';
import { readIdentities } from './identity';
import { createdRolesShortfall, planRoles, readRolesSidecar, targetRoles, type RoleShortfall } from './roles';

export interface RestoreOptions {
  file: string;
  target: DatabaseTarget;
  /** Load even though the target already has user tables. */
  force: boolean;
  /** Where the identity file's path came from (`--identity` or BACKUP_AGE_IDENTITY_FILE). */
  identity?: { file: string; source: string };
  libpq: LibpqContext;
  /** Leave out `ALTER … OWNER TO` and `SET SESSION AUTHORIZATION`: objects belong to the restoring role. */
  noOwner?: boolean;
  /** Leave out GRANT, REVOKE and ALTER DEFAULT PRIVILEGES. */
  noPrivileges?: boolean;
  /** Create the roles of the backup's roles sidecar that the target lacks (NOLOGIN), in the same transaction, before loading. */
  createRoles?: boolean;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface RestoreReport {
  file: string;
  bytes: number;
  encrypted: boolean;
  checksum: 'verified' | 'no sidecar';
  /** The role the restore ran as: with --no-owner, the owner of everything it created. */
  restoredAs: string;
  /** The roles sidecar, when there was one, and what came of its roles. */
  roles?: {
    sidecar: string;
    /** Roles the dump names that the target lacked. */
    missing: string[];
    /** Created by --create-roles (NOLOGIN). */
    created: string[];
    /** What a created role did not get because the restoring role may not give it. */
    shortfalls: RoleShortfall[];
  };
  /** Statements left out, by kind (see DumpFilter): ownership with --no-owner, privileges with --no-privileges, … */
  skipped: Partial<Record<SkippedKind, number>>;
  /** Every statement left out because it names a role the target lacks, with those roles. */
  namingMissingRoles: Array<{ statement: string; roles: string[] }>;
  tables: TableRows[];
  durationMs: number;
}

/**
 * file → sha256 → [age decrypt] → gunzip (or zstd -d) → psql, one streaming pass: no temporary file, memory
 * bounded by stream buffers. Nothing is committed unless every stage ended cleanly and the
 * checksum matched (see startPsqlLoad).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const started = Date.now();
  const { file, target, libpq } = options;
  const name = path.basename(file);
  const compression = compressionOfName(name);
  if (!compression) throw new RestoreError(`${name}: expected a backup ending in .sql.gz, .sql.zst, .sql.gz.age or .sql.zst.age`);
  const encrypted = name.endsWith('.age');
  const { size } = await checkBackupFile(file);
  if (encrypted && !options.identity) {
    throw new ConfigError(
      'BACKUP_AGE_IDENTITY_FILE',
      `${name} is encrypted: pass --identity FILE or set BACKUP_AGE_IDENTITY_FILE to an age identity file (age-keygen output)`,
    );
  }
  // An identity matters only to an encrypted backup (or its sidecar): a plain one restores without it.
  const identities = options.identity && encrypted ? await readIdentities(options.identity.file, options.identity.source) : [];
  const expectedSha256 = await readSidecar(file);

  const existing = await userTables(libpq, target).catch((err) => {
    throw targetFailure(err, target);
  });
  if (existing.length > 0 && !options.force) {
    const shown = existing.slice(0, 5).join(', ') + (existing.length > 5 ? ', …' : '');
    throw new RestoreError(
      `target database ${target.database} already has ${existing.length} user table(s) (${shown}): restore into an empty database, or pass --force to load anyway (a conflicting object rolls the whole restore back)`,
    );
  }
  const flags = { noOwner: options.noOwner ?? false, noPrivileges: options.noPrivileges ?? false, createRoles: options.createRoles ?? false };
  const sidecar = await readRolesSidecar(file, identities, options.identity?.file);
  const roles = await targetRoles(libpq, target);
  const plan = planRoles(sidecar, roles, flags);

  const source = createReadStream(file, { highWaterMark: READ_CHUNK });
  const hashing = new Sha256PassThrough();
  pipelineCallback(source, hashing, () => undefined); // errors reach the main pipeline through `hashing`
  const stages: [string, Readable][] = [['read', hashing]];
  if (encrypted) stages.push(['decrypt', await decryptingStream(hashing, identities, file, options.identity!.file)]);
  const decompress = createDecompressor(compression);

  const known = new Set([...roles.names, ...plan.toCreate]);
  const load = startDumpLoad(libpq, target, {
    filter: {
      ownership: flags.noOwner ? 'drop' : 'keep',
      privileges: flags.noPrivileges ? 'drop' : 'keep',
      // Only where the person restoring chose to lose ownership or privileges anyway: then a grant or policy naming a missing role is skipped and listed.
      ...(flags.noOwner || flags.noPrivileges ? { existingRoles: known } : {}),
      // Objects belong to the restoring role: default privileges of roles it may not act as would fail.
      ...(flags.noOwner && !roles.superuser ? { mayActAs: roles.actAs } : {}),
    },
    ...(flags.createRoles && sidecar ? { prefix: renderRolesScript(sidecar.doc) } : {}),
    beforeCommit: async () => {
      const actual = hashing.digest();
      if (expectedSha256 && actual !== expectedSha256) {
        throw new RestoreError(
          `${name} does not match ${name}.sha256 (sha256 ${actual}, expected ${expectedSha256}): the file is damaged or was replaced; nothing was restored`,
        );
      }
    },
  });

  // The first stage to fail names the problem; the others only fail because it did.
  const origin = new Map<unknown, string>();
  for (const [stage, stream] of [...stages, ['decompress', decompress] as [string, Readable]]) {
    stream.once('error', (err) => origin.has(err) || origin.set(err, stage));
  }
  const progress = options.onProgress && setInterval(() => options.onProgress!(source.bytesRead, size), 5000);
  let loaded: DumpLoadResult;
  try {
    await pipeline(stages[stages.length - 1][1], decompress, load.input);
    loaded = await load.done;
  } catch (err) {
    const cause = await load.done.then(
      () => err,
      (loadErr: unknown) => (loadErr instanceof LibpqError || loadErr instanceof DumpFilterRefusal ? loadErr : err),
    );
    throw describeFailure(cause as Error, origin.get(err), name, Boolean(expectedSha256), compression);
  } finally {
    if (progress) clearInterval(progress);
    source.destroy();
  }
  const created = plan.toCreate;
  const shortfalls = sidecar && created.length ? await createdRolesShortfall(libpq, target, sidecar.doc, created) : [];
  const skipped = Object.fromEntries(Object.entries(loaded.report.skipped).filter(([, n]) => n > 0)) as RestoreReport['skipped'];
  return {
    file,
    bytes: size,
    encrypted,
    checksum: expectedSha256 ? 'verified' : 'no sidecar',
    restoredAs: roles.current,
    ...(sidecar ? { roles: { sidecar: sidecar.path, missing: plan.missing, created, shortfalls } } : {}),
    skipped,
    namingMissingRoles: loaded.report.namingMissingRoles,
    tables: withLoadedRows(await committedTableRows(libpq, target, loaded), loaded),
    durationMs: Date.now() - started,
  };
}

/**
 * After COMMIT the restore has happened, whatever follows: a table the restoring role may not
 * read (one that was there before, with --force) must not turn it into a failure. The tables
 * this restore loaded are reported from psql's COPY tags instead.
 */
async function committedTableRows(libpq: LibpqContext, target: DatabaseTarget, loaded: DumpLoadResult): Promise<TableRows[]> {
  try {
    return await tableRowCounts(libpq, target);
  } catch {
    return loaded.copied.map(({ table, rows }) => ({ table: `${table.schema ?? 'public'}.${table.name}`, rows }));
  }
}

/**
 * Each table's rows: what this restore loaded (psql's COPY tags), else a count(*) (tables that
 * were there before, partitioned parents). The tags also count rows that row-level security
 * hides from the restoring role, now the owner of a FORCE ROW LEVEL SECURITY table.
 */
function withLoadedRows(tables: TableRows[], loaded: DumpLoadResult): TableRows[] {
  // Keyed as tableRowCounts names tables: `schema.table`, unquoted.
  const copied = new Map<string, number>();
  for (const { table, rows } of loaded.copied) {
    const key = `${table.schema ?? 'public'}.${table.name}`;
    copied.set(key, (copied.get(key) ?? 0) + rows);
  }
  return tables.map((t) => ({ table: t.table, rows: copied.get(t.table) ?? t.rows }));
}

/** A libpq failure in words for the person restoring; anything else as it is. */
function targetFailure(err: unknown, target: DatabaseTarget): unknown {
  if (!(err instanceof LibpqError)) return err;
  // The runner's message carries its hint (a password to give, a certificate to trust): keep it.
  if (['connection-refused', 'connection-lost', 'unknown-host', 'authentication', 'ssl', 'server-terminated'].includes(err.kind)) {
    return new RestoreError(`cannot connect to the target database ${target.safeUri}: ${err.message}`);
  }
  if (/database "[^"]*" does not exist/.test(err.stderr)) {
    return new RestoreError(`${err.stderr.trim()}: create it first (createdb -T template0 ${target.database}), or point --target at an empty database`);
  }
  return new RestoreError(err.message);
}

function describeFailure(err: Error, stage: string | undefined, name: string, hasSidecar: boolean, compression: Compression): Error {
  const rolledBack = 'nothing was restored (the transaction was rolled back)';
  if (err instanceof RestoreError) return err;
  if (err instanceof DumpFilterRefusal) return new RestoreError(`${err.message}; ${rolledBack}`);
  if (err instanceof LibpqError) {
    if (err.retryable || !err.stderr) return new RestoreError(`${err.message}; ${rolledBack}`);
    // A role the dump names and the target lacks, or one the restoring role may not act as: say how to restore anyway.
    const missingRole = /role "[^"]+" does not exist/.test(err.stderr);
    const notMember = /must be (?:a )?member of role|must be able to SET ROLE/.test(err.stderr);
    const hint = missingRole
      ? ' (the target lacks roles the backup names: restore with --create-roles to create them from the roles sidecar, or with --no-owner)'
      : notMember
        ? ' (the role exists, but the restoring role may not give objects to it: restore with --no-owner, or as a superuser)'
        : /must be superuser|permission denied to create (?:event trigger|subscription)/.test(err.stderr)
          ? ' (only a superuser may create that: restore as a superuser)'
          : '';
    return new RestoreError(`psql failed (exit code ${err.exit.code}): ${err.stderr}${hint}; ${rolledBack}`);
  }
  const hint = hasSidecar ? '' : ' (no .sha256 sidecar to check it against)';
  if (err instanceof ZstdNotInstalled) return new RestoreError(`${err.message}; ${rolledBack}`);
  if (stage === 'decompress' || isCorruptInput(err)) {
    return new RestoreError(`${name} is truncated or corrupted: ${compression} says "${err.message}"${hint}; ${rolledBack}`);
  }
  if (stage === 'decrypt') {
    return new RestoreError(`${name} is truncated or corrupted: age decryption failed ("${err.message}")${hint}; ${rolledBack}`);
  }
  if (stage === 'read') return new RestoreError(`cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? err.message}; ${rolledBack}`);
  return err;
}
