import fs from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseTarget } from '../config/database-url';
import { loadAge } from '../encryption/age';
import { parseRolesSidecar, rolesSidecarPath, type RolesSidecarDocument } from '../files/roles-sidecar';
import { sha256File } from '../files/sha256';
import { readSidecar } from '../files/sidecar';
import { psqlRows, type LibpqContext } from '../postgres/libpq';
import { quoteLiteral, type NeededRole } from '../postgres/roles';
import { RestoreError } from './errors';

/**
 * The roles side of a restore: read the backup's roles sidecar, see which of its roles the
 * target server lacks, decide whether the restore can go ahead (and how), and afterwards check
 * what `--create-roles` could give.
 */
export interface RolesSidecar {
  path: string;
  doc: RolesSidecarDocument;
}

/** The roles sidecar beside `backupFile`, checked against its `.sha256` and decrypted; undefined when there is none. */
export async function readRolesSidecar(backupFile: string, identities: string[], identityFile?: string): Promise<RolesSidecar | undefined> {
  const file = rolesSidecarPath(backupFile);
  if (!file) return undefined;
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RestoreError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const name = path.basename(file);
  const expected = await readSidecar(file).catch((err: Error) => {
    throw new RestoreError(err.message);
  });
  if (expected) {
    const { sha256 } = await sha256File(file);
    if (sha256 !== expected)
      throw new RestoreError(`${name} does not match ${name}.sha256 (sha256 ${sha256}, expected ${expected}): it is damaged or was replaced${WITHOUT_IT}`);
  }
  let text = bytes.toString('utf8');
  if (file.endsWith('.age')) {
    const { Decrypter } = await loadAge();
    const decrypter = new Decrypter();
    for (const identity of identities) decrypter.addIdentity(identity);
    try {
      text = await decrypter.decrypt(bytes, 'text');
    } catch (err) {
      const message = (err as Error).message;
      throw new RestoreError(
        /no identity matched/.test(message)
          ? `${name} cannot be decrypted with the identity in ${identityFile}: it was encrypted to other recipients`
          : `${name} cannot be decrypted: ${message}`,
      );
    }
  }
  try {
    return { path: file, doc: parseRolesSidecar(text, name) };
  } catch (err) {
    throw new RestoreError(`${(err as Error).message}${WITHOUT_IT}`);
  }
}

/** The way on when the sidecar itself is the problem: the backup does not need it to restore. */
const WITHOUT_IT =
  '; to restore the backup without it, move it (and its .sha256) aside: the roles it names must then exist on the target, or restore with --no-owner';

export interface TargetRoles {
  /** The role the restore runs as. */
  current: string;
  superuser: boolean;
  names: Set<string>;
  /** Roles it may act as (itself and the roles it is a member of; every role for a superuser). */
  actAs: Set<string>;
}

export async function targetRoles(ctx: LibpqContext, target: DatabaseTarget): Promise<TargetRoles> {
  const [[current, superuser, names, actAs]] = await psqlRows(
    ctx,
    target,
    `SELECT current_user, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), (SELECT json_agg(rolname) FROM pg_catalog.pg_roles),
       (SELECT json_agg(rolname) FROM pg_catalog.pg_roles WHERE pg_catalog.pg_has_role(current_user, oid, 'MEMBER'))`,
  );
  return { current, superuser: superuser === 't', names: new Set(JSON.parse(names) as string[]), actAs: new Set(JSON.parse(actAs) as string[]) };
}

/** Why a dump names a role: owning objects needs the role for `ALTER … OWNER TO`; the rest for GRANT, policies, default privileges. */
function ownsObjects(role: NeededRole): boolean {
  return role.reasons.some((r) => r.startsWith('owns') && r !== 'owns the database');
}
function namedOtherwise(role: NeededRole): boolean {
  return role.reasons.some((r) => !r.startsWith('owns') && !r.startsWith('is a group') && !r.startsWith('is a member'));
}

export interface RolesFlags {
  noOwner: boolean;
  noPrivileges: boolean;
  createRoles: boolean;
}

export interface RolesPlan {
  /** Roles of the sidecar the target lacks and the dump names (empty without a sidecar). */
  missing: string[];
  /** Roles `--create-roles` will create. */
  toCreate: string[];
}

/**
 * What the target lacks, and a refusal (before anything is loaded) when the restore could only
 * fail on it: every `ALTER … OWNER TO`, GRANT and policy naming a missing role would stop it.
 */
export function planRoles(sidecar: RolesSidecar | undefined, target: TargetRoles, flags: RolesFlags): RolesPlan {
  const name = sidecar ? path.basename(sidecar.path) : undefined;
  if (flags.createRoles && !sidecar) {
    throw new RestoreError(
      '--create-roles needs the roles sidecar beside the backup (<base>.roles.json or .roles.json.age; backups made before it existed have none): ' +
        'create the roles by hand, or restore with --no-owner',
    );
  }
  if (!sidecar) return { missing: [], toCreate: [] };
  const absent = sidecar.doc.roles.filter((r) => !target.names.has(r.name));
  const missing = absent.filter((r) => ownsObjects(r) || namedOtherwise(r));
  if (flags.createRoles) {
    const owners = absent.filter(ownsObjects).map((r) => r.name);
    if (owners.length && !flags.noOwner && !target.superuser) {
      throw new RestoreError(
        `giving objects back to their owners (${list(owners)}) needs a superuser: ${target.current} could create those roles but not act as them. ` +
          `Restore as a superuser for exact owners, or add --no-owner (objects then belong to ${target.current}; grants and policies still come back)`,
      );
    }
    return { missing: missing.map((r) => r.name), toCreate: absent.map((r) => r.name) };
  }
  const blockingOwners = flags.noOwner ? [] : missing.filter(ownsObjects);
  const blockingOthers = flags.noOwner || flags.noPrivileges ? [] : missing.filter((r) => !ownsObjects(r));
  const blocking = [...blockingOwners, ...blockingOthers].map((r) => r.name).sort();
  if (blocking.length) {
    throw new RestoreError(
      `the target server lacks roles this backup's objects belong to or are granted to: ${list(blocking)} (from ${name}). ` +
        `Restore with --create-roles (creates them NOLOGIN first, so owners and grants come back exactly), ` +
        `or --no-owner (objects belong to ${target.current}; grants and policies naming missing roles are skipped and listed)` +
        (blockingOwners.length ? '' : ', or --no-privileges (no grants at all)') +
        '; nothing was restored',
    );
  }
  return { missing: missing.map((r) => r.name), toCreate: [] };
}

export interface RoleShortfall {
  role: string;
  /** Attributes, settings and memberships the sidecar has and the created role did not get (the restoring role may not give them). */
  missing: string[];
}

/** After `--create-roles`: what each role created just now lacks compared with the source. */
export async function createdRolesShortfall(ctx: LibpqContext, target: DatabaseTarget, doc: RolesSidecarDocument, created: string[]): Promise<RoleShortfall[]> {
  if (!created.length) return [];
  const names = `ARRAY[${created.map(quoteLiteral).join(', ')}]::text[]`;
  const [[json]] = await psqlRows(
    ctx,
    target,
    `SELECT coalesce(json_agg(json_build_object('name', rolname, 'superuser', rolsuper, 'createDb', rolcreatedb, 'createRole', rolcreaterole,
       'replication', rolreplication, 'bypassRls', rolbypassrls, 'settings', coalesce(rolconfig, '{}'),
       'memberOf', ARRAY(SELECT g.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid))), '[]')
     FROM pg_catalog.pg_roles r WHERE rolname = ANY (${names})`,
  );
  const now = new Map((JSON.parse(json) as Array<Record<string, unknown>>).map((r) => [r.name as string, r]));
  const shortfalls: RoleShortfall[] = [];
  for (const role of doc.roles.filter((r) => created.includes(r.name))) {
    const state = now.get(role.name);
    if (!state) continue;
    const missing: string[] = [];
    for (const [key, word] of [
      ['superuser', 'SUPERUSER'],
      ['createDb', 'CREATEDB'],
      ['createRole', 'CREATEROLE'],
      ['replication', 'REPLICATION'],
      ['bypassRls', 'BYPASSRLS'],
    ] as const) {
      if (role[key] && !state[key]) missing.push(word);
    }
    const settings = new Set(state.settings as string[]);
    for (const setting of role.settings) if (!settings.has(setting)) missing.push(`setting ${setting}`);
    const memberOf = new Set(state.memberOf as string[]);
    for (const m of doc.memberships) {
      if (
        m.member === role.name &&
        (created.includes(m.role) || m.role.startsWith('pg_') || doc.roles.some((r) => r.name === m.role)) &&
        !memberOf.has(m.role)
      ) {
        missing.push(`membership in ${m.role}`);
      }
    }
    if (missing.length) shortfalls.push({ role: role.name, missing });
  }
  return shortfalls;
}

function list(names: string[]): string {
  return names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ');
}
