import path from 'node:path';
import { ApplicationFailure, log } from '@temporalio/activity';
import { databaseFor, type WorkerConfig } from '../config';
import type { SaveRolesInput, SaveRolesOutput } from '../common/types';
import { loadAge } from '../encryption/age';
import { exists, openPart, publishPart, removeQuietly } from '../files/files';
import { rolesSidecarPath, rolesSidecarText } from '../files/roles-sidecar';
import { sha256File } from '../files/sha256';
import { writeSidecar } from '../files/sidecar';
import { psqlRows } from '../postgres/libpq';
import { ROLES_QUERY_SQL, parseDatabaseRoles } from '../postgres/roles';
import { libpqActivityFailure } from './libpq-failure';
import { recordFiles } from './run-files';

/**
 * `saveRoles`: the roles sidecar of a verified backup (see files/roles-sidecar): the roles the
 * database needs, read as the backup role (pg_read_all_data is enough; no password is read),
 * written beside the backup — encrypted to the backup's recipients when the backup is — with
 * its own `.sha256`. It runs before `stat`, whose release of the run's record makes the
 * backup and its roles sidecar a finished backup together.
 */
export function makeSaveRoles(config: WorkerConfig) {
  return async function saveRoles({ environment, path: backupPath }: SaveRolesInput): Promise<SaveRolesOutput> {
    const dest = rolesSidecarPath(backupPath);
    if (!dest) throw ApplicationFailure.nonRetryable(`${path.basename(backupPath)} is not a backup file name`, 'UnsafeFileName');
    const encrypted = dest.endsWith('.age');
    if (encrypted && !config.encryption) {
      throw ApplicationFailure.nonRetryable(
        'the backup is encrypted but this worker has no BACKUP_AGE_RECIPIENTS to encrypt its roles to',
        'EncryptionNotConfigured',
      );
    }
    // A retry after an attempt published the sidecar but could not report back: keep it.
    let count: number | undefined;
    if (!(await exists(dest))) {
      // Recorded as this run's before they exist: a run cancelled or crashed from here on takes them away (see run-files).
      await recordFiles(backupPath, `${dest}.part`, dest, `${dest}.sha256.part`, `${dest}.sha256`);
      const target = databaseFor(config, environment);
      const rows = await psqlRows(config.libpq, target, ROLES_QUERY_SQL, { timeoutMs: 120_000 }).catch((err) => {
        throw libpqActivityFailure(err, 'could not read the roles the database needs: ');
      });
      const roles = parseDatabaseRoles(rows.map((fields) => fields.join('')).join(''));
      const text = rolesSidecarText(roles, path.basename(backupPath), new Date());
      await writeOnce(dest, encrypted ? await encrypt(text, config.encryption!.recipients) : Buffer.from(text));
      count = roles.roles.length;
      log.info('roles sidecar written', { file: path.basename(dest), roles: count });
    }
    const { sha256 } = await sha256File(dest);
    const checksumPath = await writeSidecar(dest, sha256);
    return { path: dest, fileName: path.basename(dest), sha256, checksumPath, ...(count !== undefined ? { roles: count } : {}) };
  };
}

async function encrypt(text: string, recipients: string[]): Promise<Uint8Array> {
  const { Encrypter } = await loadAge();
  const encrypter = new Encrypter();
  for (const recipient of recipients) encrypter.addRecipient(recipient);
  return encrypter.encrypt(text);
}

/** `.part`, fsync, publish: never a half-written sidecar under its name, never one replaced. */
async function writeOnce(dest: string, bytes: Uint8Array): Promise<void> {
  await removeQuietly(dest + '.part'); // an earlier attempt of this step, which is not running any more
  const { partPath, handle } = await openPart(dest);
  let published = false;
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    await publishPart(partPath, dest);
    published = true;
  } finally {
    if (!published) {
      await handle.close().catch(() => undefined);
      await removeQuietly(partPath);
    }
  }
}
