/**
 * Before pg_dump starts: would the connecting role be refused rows? pg_dump runs with
 * row_security off, so a table whose policies apply to it stops the dump with "query would be
 * affected by row-level security policy" — after minutes of work, and no retry changes that.
 * Large objects are the same story: pg_read_all_data does not cover them, and pg_dump stops
 * at the first one it may not read. This finds both in one query, so the backup fails at once
 * with the fix. (Never --enable-row-security: it would dump only the rows the policies let
 * through, and call that a backup.)
 *
 * Row-level security applies to a role on a table with RLS enabled unless the role is a
 * superuser, has BYPASSRLS, or has the privileges of the table's owner — and even the owner
 * is subject to it when the table has FORCE ROW LEVEL SECURITY. Partitioned parents are left
 * out: pg_dump copies their partitions, each with its own setting.
 */
export const ACCESS_PREFLIGHT_SQL = `SELECT json_build_object(
  'role', current_user,
  'superuser', r.rolsuper,
  'bypassRls', r.rolbypassrls,
  'tables', coalesce((
    SELECT json_agg(json_build_object('schema', n.nspname, 'table', c.relname, 'owner', pg_get_userbyid(c.relowner),
                                      'forced', c.relforcerowsecurity, 'asOwner', pg_has_role(c.relowner, 'USAGE'))
                    ORDER BY n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND c.relrowsecurity AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
  ), '[]'::json),
  'loCompatPrivileges', current_setting('lo_compat_privileges')::boolean,
  'largeObjects', (
    SELECT json_build_object('count', count(*), 'owners', coalesce(json_agg(DISTINCT pg_get_userbyid(m.lomowner)), '[]'::json),
                             'examples', coalesce((array_agg(m.oid ORDER BY m.oid))[1:3], '{}'))
    FROM pg_catalog.pg_largeobject_metadata m
    WHERE NOT pg_has_role(m.lomowner, 'USAGE')
      AND NOT EXISTS (SELECT 1 FROM aclexplode(m.lomacl) a
                      WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_has_role(a.grantee, 'USAGE')))
  )
)
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;`;

export interface RlsTable {
  schema: string;
  table: string;
  owner: string;
  /** FORCE ROW LEVEL SECURITY: applies to the owner too. */
  forced: boolean;
  /** The role has the owner's privileges (so only FORCE makes the table a problem). */
  asOwner: boolean;
}

export interface AccessPreflight {
  role: string;
  /** Tables whose row-level security would stop pg_dump (none for superusers and BYPASSRLS roles). */
  rlsTables: RlsTable[];
  /** Large objects pg_dump could not read as this role. */
  unreadableLargeObjects: { count: number; owners: string[]; examples: number[] };
  /** The failure message, or undefined when pg_dump can read everything. */
  problem?: string;
}

interface RawPreflight {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  tables: RlsTable[];
  loCompatPrivileges: boolean;
  largeObjects: { count: number; owners: string[] | null; examples: number[] | null };
}

/** Parses what `psql -XAt -c ACCESS_PREFLIGHT_SQL` printed (one line of JSON) and says what is wrong, if anything. */
export function parseAccessPreflight(output: string): AccessPreflight {
  const raw = JSON.parse(output.trim()) as RawPreflight;
  const exempt = raw.superuser || raw.bypassRls;
  const rlsTables = exempt ? [] : raw.tables;
  const lo = raw.superuser || raw.loCompatPrivileges ? { count: 0, owners: [], examples: [] } : raw.largeObjects;
  const unreadableLargeObjects = { count: Number(lo.count), owners: lo.owners ?? [], examples: (lo.examples ?? []).map(Number) };
  const problems: string[] = [];
  const role = quoteIdent(raw.role);
  if (rlsTables.length) {
    const names = rlsTables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}${t.forced ? ' (FORCE)' : ''}`);
    const listed = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
    const anyForced = rlsTables.some((t) => t.forced);
    problems.push(
      `row-level security applies to ${role} on ${rlsTables.length === 1 ? 'table' : `${rlsTables.length} tables`} ${listed}, so pg_dump would stop there: ` +
        `ALTER ROLE ${role} BYPASSRLS (as a superuser)` +
        (anyForced
          ? `, or back up as a superuser — FORCE ROW LEVEL SECURITY applies to the tables' owner too, so backing up as the owner does not help`
          : `, or back up as the tables' owner`),
    );
  }
  if (unreadableLargeObjects.count > 0) {
    const n = unreadableLargeObjects.count;
    problems.push(
      `${role} may not read ${n} large object${n === 1 ? '' : 's'} (owned by ${unreadableLargeObjects.owners.join(', ')}; pg_read_all_data does not cover large objects), so pg_dump would stop there: ` +
        `ALTER ROLE ${role} SET lo_compat_privileges = on (as a superuser), GRANT SELECT ON LARGE OBJECT … TO ${role} for each, or back up as their owner`,
    );
  }
  return { role: raw.role, rlsTables, unreadableLargeObjects, ...(problems.length ? { problem: problems.join('; ') } : {}) };
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
