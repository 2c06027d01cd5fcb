import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline as pipelineCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ConfigError } from '../config/config-error';
import type { DatabaseTarget } from '../config/database-url';
import { READ_CHUNK } from '../files/files';
import { Sha256PassThrough } from '../files/sha256';
import { readSidecar } from '../files/sidecar';
import { LibpqError, type LibpqContext } from '../postgres/libpq';
import { startPsqlLoad } from '../postgres/psql-load';
import { tableRowCounts, userTables, type TableRows } from '../postgres/row-counts';
import { checkBackupFile } from './backup-files';
import { decryptingStream } from './decrypt';
import { RestoreError } from './errors';
import { readIdentities } from './identity';

export interface RestoreOptions {
  file: string;
  target: DatabaseTarget;
  /** Load even though the target already has user tables. */
  force: boolean;
  /** Where the identity file's path came from (`--identity` or BACKUP_AGE_IDENTITY_FILE). */
  identity?: { file: string; source: string };
  libpq: LibpqContext;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

export interface RestoreReport {
  file: string;
  bytes: number;
  encrypted: boolean;
  checksum: 'verified' | 'no sidecar';
  tables: TableRows[];
  durationMs: number;
}

/**
 * file → sha256 → [age decrypt] → gunzip → psql, one streaming pass: no temporary file, memory
 * bounded by stream buffers. Nothing is committed unless every stage ended cleanly and the
 * checksum matched (see startPsqlLoad).
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const started = Date.now();
  const { file, target, libpq } = options;
  const name = path.basename(file);
  if (!/\.sql\.gz(\.age)?$/.test(name)) throw new RestoreError(`${name}: expected a backup ending in .sql.gz or .sql.gz.age`);
  const encrypted = name.endsWith('.age');
  const { size } = await checkBackupFile(file);
  if (encrypted && !options.identity) {
    throw new ConfigError(
      'BACKUP_AGE_IDENTITY_FILE',
      `${name} is encrypted: pass --identity FILE or set BACKUP_AGE_IDENTITY_FILE to an age identity file (age-keygen output)`,
    );
  }
  const identities = options.identity ? await readIdentities(options.identity.file, options.identity.source) : [];
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

  const source = createReadStream(file, { highWaterMark: READ_CHUNK });
  const hashing = new Sha256PassThrough();
  pipelineCallback(source, hashing, () => undefined); // errors reach the main pipeline through `hashing`
  const stages: [string, Readable][] = [['read', hashing]];
  if (encrypted) stages.push(['decrypt', await decryptingStream(hashing, identities, file, options.identity!.file)]);
  const gunzip = createGunzip();

  const load = startPsqlLoad(libpq, target, {
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
  for (const [stage, stream] of [...stages, ['gunzip', gunzip] as [string, Readable]]) {
    stream.once('error', (err) => origin.has(err) || origin.set(err, stage));
  }
  const progress = options.onProgress && setInterval(() => options.onProgress!(source.bytesRead, size), 5000);
  try {
    await pipeline(stages[stages.length - 1][1], gunzip, load.input);
    await load.done;
  } catch (err) {
    await load.done.catch(() => undefined);
    throw describeFailure(err as Error, origin.get(err), name, Boolean(expectedSha256));
  } finally {
    if (progress) clearInterval(progress);
    source.destroy();
  }
  const tables = await tableRowCounts(libpq, target);
  return { file, bytes: size, encrypted, checksum: expectedSha256 ? 'verified' : 'no sidecar', tables, durationMs: Date.now() - started };
}

/** A libpq failure in words for the person restoring; anything else as it is. */
function targetFailure(err: unknown, target: DatabaseTarget): unknown {
  if (!(err instanceof LibpqError)) return err;
  if (['connection-refused', 'connection-lost', 'unknown-host', 'authentication', 'ssl', 'server-terminated'].includes(err.kind)) {
    return new RestoreError(`cannot reach the target database ${target.safeUri}: ${err.stderr || err.message}`);
  }
  return new RestoreError(err.message);
}

function describeFailure(err: Error, stage: string | undefined, name: string, hasSidecar: boolean): Error {
  if (err instanceof RestoreError) return err;
  if (err instanceof LibpqError) return new RestoreError(err.message);
  const rolledBack = 'nothing was restored (the transaction was rolled back)';
  const hint = hasSidecar ? '' : ' (no .sha256 sidecar to check it against)';
  if (stage === 'gunzip' || (err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
    return new RestoreError(`${name} is truncated or corrupted: gzip says "${err.message}"${hint}; ${rolledBack}`);
  }
  if (stage === 'decrypt') {
    return new RestoreError(`${name} is truncated or corrupted: age decryption failed ("${err.message}")${hint}; ${rolledBack}`);
  }
  if (stage === 'read') return new RestoreError(`cannot read ${name}: ${(err as NodeJS.ErrnoException).code ?? err.message}; ${rolledBack}`);
  return err;
}
