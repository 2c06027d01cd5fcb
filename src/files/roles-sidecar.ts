import path from 'node:path';
import type { DatabaseRoles } from '../postgres/roles';

/**
 * The roles sidecar of a backup: the cluster-wide roles its database needs (owners, grantees,
 * roles named in policies, their attributes, settings and memberships — never passwords), as
 * JSON, so a restore onto a server without them can create them first (`restore
 * --create-roles`). Beside `<base>.sql.gz` it is `<base>.roles.json`; beside an encrypted
 * `<base>.sql.gz.age` it is `<base>.roles.json.age`, encrypted to the same recipients. It has
 * its own `.sha256`, like every file the project writes, and is copied and pruned with its
 * backup.
 */
export const ROLES_SIDECAR_FORMAT = 'pg-backup-workflow/roles';
export const ROLES_SIDECAR_VERSION = 1;

const BACKUP_SUFFIX = /\.sql\.gz(\.age)?$/;

export interface RolesSidecarDocument extends DatabaseRoles {
  format: typeof ROLES_SIDECAR_FORMAT;
  version: number;
  /** The file name of the backup this describes. */
  backup: string;
  /** When the roles were read (ISO 8601). */
  readAt: string;
}

/** `<base>.roles.json[.age]` for the backup `<base>.sql.gz[.age]`; undefined for a name that is not a backup's. */
export function rolesSidecarName(backupName: string): string | undefined {
  const m = BACKUP_SUFFIX.exec(backupName);
  if (!m) return undefined;
  return `${backupName.slice(0, m.index)}.roles.json${m[1] ?? ''}`;
}

/** The roles sidecar's path beside a backup file. */
export function rolesSidecarPath(backupPath: string): string | undefined {
  const name = rolesSidecarName(path.basename(backupPath));
  return name === undefined ? undefined : path.join(path.dirname(backupPath), name);
}

/**
 * Every file that belongs with a backup besides its `.sha256` — its roles sidecar (either form,
 * as an interrupted encrypt can leave both) and that sidecar's `.sha256` — for retention.
 */
export function companionNames(backupName: string): string[] {
  const m = BACKUP_SUFFIX.exec(backupName);
  if (!m) return [];
  const base = backupName.slice(0, m.index);
  return [`${base}.roles.json`, `${base}.roles.json.sha256`, `${base}.roles.json.age`, `${base}.roles.json.age.sha256`];
}

export function rolesSidecarText(roles: DatabaseRoles, backupName: string, readAt: Date): string {
  const doc: RolesSidecarDocument = {
    format: ROLES_SIDECAR_FORMAT,
    version: ROLES_SIDECAR_VERSION,
    backup: backupName,
    readAt: readAt.toISOString(),
    ...roles,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Parses a roles sidecar; throws an Error saying what is wrong with it. */
export function parseRolesSidecar(text: string, fileName: string): RolesSidecarDocument {
  let doc: Partial<RolesSidecarDocument>;
  try {
    doc = JSON.parse(text) as Partial<RolesSidecarDocument>;
  } catch {
    throw new Error(`${fileName} is not JSON: not a roles sidecar, or it is damaged`);
  }
  if (doc.format !== ROLES_SIDECAR_FORMAT || !Array.isArray(doc.roles) || !Array.isArray(doc.memberships)) {
    throw new Error(`${fileName} is not a roles sidecar of this project (format ${JSON.stringify(doc.format)})`);
  }
  if ((doc.version ?? 0) > ROLES_SIDECAR_VERSION) {
    throw new Error(`${fileName} has version ${doc.version}, newer than this version of the tool reads (${ROLES_SIDECAR_VERSION}): upgrade it`);
  }
  return doc as RolesSidecarDocument;
}
