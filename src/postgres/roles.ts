/**
 * The cluster-wide roles a database needs, so that a backup can carry them: whoever owns
 * objects in it (the database, schemas, relations, types, functions, large objects,
 * extensions, publications, event triggers, and the other owned kinds), holds privileges in
 * it (ACL grantees and grantors, column ACLs, default privileges), is named in a policy or a
 * user mapping — plus the roles those are members of and the roles that are members of them.
 * Attributes, role-wide settings and memberships are kept; passwords never are (pg_roles
 * shows none, and this reads only pg_roles). Runs as any role that may connect: a
 * pg_read_all_data backup role needs nothing more.
 *
 * `pg_dumpall --globals-only --no-role-passwords` is the reference for what a role is made
 * of, but it is not used: it writes every role of the cluster (other applications' too), its
 * CREATE ROLE fails where a role exists and its ALTER ROLE would then rewrite that role's
 * attributes on the target, and it keeps LOGIN on roles it gives no password.
 */
export const ROLES_QUERY_SQL = `WITH RECURSIVE
-- Members of extensions are not dumped (CREATE EXTENSION makes them), so their owners are not needed for them.
ext_members AS (
  SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e'
),
owned(role, reason) AS (
  SELECT datdba, 'owns the database' FROM pg_catalog.pg_database WHERE datname = current_database()
  UNION SELECT nspowner, 'owns schemas' FROM pg_catalog.pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname !~ '^pg_(toast_)?temp_'
      AND ('pg_namespace'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT relowner, 'owns relations' FROM pg_catalog.pg_class
    WHERE oid >= 16384 AND ('pg_class'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT typowner, 'owns types' FROM pg_catalog.pg_type
    WHERE oid >= 16384 AND typrelid = 0 AND typcategory <> 'A' AND ('pg_type'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT proowner, 'owns functions' FROM pg_catalog.pg_proc
    WHERE oid >= 16384 AND ('pg_proc'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT lomowner, 'owns large objects' FROM pg_catalog.pg_largeobject_metadata
  UNION SELECT extowner, 'owns extensions' FROM pg_catalog.pg_extension WHERE oid >= 16384
  UNION SELECT collowner, 'owns collations' FROM pg_catalog.pg_collation
    WHERE oid >= 16384 AND ('pg_collation'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT conowner, 'owns conversions' FROM pg_catalog.pg_conversion
    WHERE oid >= 16384 AND ('pg_conversion'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT oprowner, 'owns operators' FROM pg_catalog.pg_operator
    WHERE oid >= 16384 AND ('pg_operator'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT opcowner, 'owns operator classes' FROM pg_catalog.pg_opclass
    WHERE oid >= 16384 AND ('pg_opclass'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT opfowner, 'owns operator families' FROM pg_catalog.pg_opfamily
    WHERE oid >= 16384 AND ('pg_opfamily'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT dictowner, 'owns text search dictionaries' FROM pg_catalog.pg_ts_dict
    WHERE oid >= 16384 AND ('pg_ts_dict'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT cfgowner, 'owns text search configurations' FROM pg_catalog.pg_ts_config
    WHERE oid >= 16384 AND ('pg_ts_config'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT lanowner, 'owns languages' FROM pg_catalog.pg_language
    WHERE oid >= 16384 AND ('pg_language'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT fdwowner, 'owns foreign-data wrappers' FROM pg_catalog.pg_foreign_data_wrapper
    WHERE ('pg_foreign_data_wrapper'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT srvowner, 'owns foreign servers' FROM pg_catalog.pg_foreign_server
    WHERE ('pg_foreign_server'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT stxowner, 'owns statistics objects' FROM pg_catalog.pg_statistic_ext
  UNION SELECT evtowner, 'owns event triggers' FROM pg_catalog.pg_event_trigger
    WHERE ('pg_event_trigger'::regclass, oid) NOT IN (SELECT * FROM ext_members)
  UNION SELECT pubowner, 'owns publications' FROM pg_catalog.pg_publication
  UNION SELECT subowner, 'owns subscriptions' FROM pg_catalog.pg_subscription
    WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
),
-- Every ACL in the database with its object's owner; system objects only where they differ from their initial privileges.
acls(acl, owner, initial) AS (
  SELECT datacl, datdba, NULL::aclitem[] FROM pg_catalog.pg_database WHERE datname = current_database()
  UNION ALL SELECT n.nspacl, n.nspowner, ip.initprivs FROM pg_catalog.pg_namespace n
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = n.oid AND ip.classoid = 'pg_catalog.pg_namespace'::regclass AND ip.objsubid = 0
  UNION ALL SELECT c.relacl, c.relowner, ip.initprivs FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = c.oid AND ip.classoid = 'pg_catalog.pg_class'::regclass AND ip.objsubid = 0
  UNION ALL SELECT a.attacl, c.relowner, ip.initprivs FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = c.oid AND ip.classoid = 'pg_catalog.pg_class'::regclass AND ip.objsubid = a.attnum
    WHERE a.attacl IS NOT NULL
  UNION ALL SELECT p.proacl, p.proowner, ip.initprivs FROM pg_catalog.pg_proc p
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = p.oid AND ip.classoid = 'pg_catalog.pg_proc'::regclass AND ip.objsubid = 0
  UNION ALL SELECT t.typacl, t.typowner, ip.initprivs FROM pg_catalog.pg_type t
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = t.oid AND ip.classoid = 'pg_catalog.pg_type'::regclass AND ip.objsubid = 0
  UNION ALL SELECT l.lanacl, l.lanowner, ip.initprivs FROM pg_catalog.pg_language l
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.objoid = l.oid AND ip.classoid = 'pg_catalog.pg_language'::regclass AND ip.objsubid = 0
  UNION ALL SELECT lomacl, lomowner, NULL FROM pg_catalog.pg_largeobject_metadata
  UNION ALL SELECT fdwacl, fdwowner, NULL FROM pg_catalog.pg_foreign_data_wrapper
  UNION ALL SELECT srvacl, srvowner, NULL FROM pg_catalog.pg_foreign_server
  UNION ALL SELECT defaclacl, defaclrole, NULL FROM pg_catalog.pg_default_acl
),
acl_roles(role, reason) AS (
  SELECT e.grantee, 'holds privileges' FROM acls, LATERAL pg_catalog.aclexplode(acls.acl) e
    WHERE acls.acl IS NOT NULL AND e.grantee <> acls.owner AND NOT (acls.initial IS NOT NULL AND acls.acl = acls.initial)
  UNION SELECT e.grantor, 'granted privileges' FROM acls, LATERAL pg_catalog.aclexplode(acls.acl) e
    WHERE acls.acl IS NOT NULL AND e.grantor <> acls.owner AND NOT (acls.initial IS NOT NULL AND acls.acl = acls.initial)
  UNION SELECT defaclrole, 'sets default privileges' FROM pg_catalog.pg_default_acl
),
named(role, reason) AS (
  SELECT unnest(polroles), 'is named in policies' FROM pg_catalog.pg_policy
  UNION SELECT umuser, 'has user mappings' FROM pg_catalog.pg_user_mappings
),
direct(role, reason) AS (
  SELECT role, reason FROM owned UNION SELECT role, reason FROM acl_roles UNION SELECT role, reason FROM named
),
-- Predefined roles (pg_*) exist everywhere and are never created: they seed nothing.
seeds AS (
  SELECT DISTINCT d.role FROM direct d JOIN pg_catalog.pg_roles r ON r.oid = d.role WHERE r.rolname !~ '^pg_'
),
up(role) AS (
  SELECT role FROM seeds
  UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.role
    JOIN pg_catalog.pg_roles r ON r.oid = m.roleid WHERE r.rolname !~ '^pg_'
),
down(role) AS (
  SELECT role FROM seeds
  UNION SELECT m.member FROM pg_catalog.pg_auth_members m JOIN down ON m.roleid = down.role
),
needed AS (
  SELECT role FROM up UNION SELECT role FROM down
),
reasons AS (
  SELECT role, array_agg(DISTINCT reason ORDER BY reason) AS reasons FROM (
    SELECT role, reason FROM direct
    UNION SELECT role, 'is a group of a role above' FROM up WHERE role NOT IN (SELECT role FROM seeds)
    UNION SELECT role, 'is a member of a role above' FROM down WHERE role NOT IN (SELECT role FROM seeds)
  ) x GROUP BY role
)
SELECT json_build_object(
  'database', current_database(),
  'serverVersion', current_setting('server_version_num')::int,
  'roles', coalesce((
    SELECT json_agg(json_build_object(
      'name', r.rolname,
      'reasons', rs.reasons,
      'superuser', r.rolsuper, 'inherit', r.rolinherit, 'createRole', r.rolcreaterole, 'createDb', r.rolcreatedb,
      'login', r.rolcanlogin, 'replication', r.rolreplication, 'bypassRls', r.rolbypassrls,
      'connectionLimit', r.rolconnlimit, 'validUntil', r.rolvaliduntil, 'settings', coalesce(r.rolconfig, '{}'),
      'comment', pg_catalog.shobj_description(r.oid, 'pg_authid')
    ) ORDER BY r.rolname)
    FROM needed JOIN pg_catalog.pg_roles r ON r.oid = needed.role JOIN reasons rs ON rs.role = needed.role
    WHERE r.rolname !~ '^pg_'
  ), '[]'::json),
  'memberships', coalesce((
    SELECT json_agg(json_build_object(
      'role', g.rolname, 'member', u.rolname, 'grantor', pg_catalog.pg_get_userbyid(m.grantor), 'admin', m.admin_option,
      'inherit', (to_jsonb(m) ->> 'inherit_option')::boolean, 'set', (to_jsonb(m) ->> 'set_option')::boolean
    ) ORDER BY g.rolname, u.rolname)
    FROM pg_catalog.pg_auth_members m
    JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
    WHERE m.member IN (SELECT role FROM needed) OR m.roleid IN (SELECT role FROM needed)
  ), '[]'::json)
);`;

export interface NeededRole {
  name: string;
  /** Why the database needs it, e.g. "owns relations", "holds privileges", "is named in policies". */
  reasons: string[];
  superuser: boolean;
  inherit: boolean;
  createRole: boolean;
  createDb: boolean;
  /** Could log in at the source; a role created from this starts NOLOGIN all the same. */
  login: boolean;
  replication: boolean;
  bypassRls: boolean;
  connectionLimit: number;
  validUntil: string | null;
  /** Role-wide settings as pg_roles.rolconfig holds them: `name=value`. */
  settings: string[];
  comment: string | null;
}

export interface Membership {
  role: string;
  member: string;
  grantor: string;
  admin: boolean;
  /** PostgreSQL 16+: per-membership INHERIT and SET; null on older servers. */
  inherit: boolean | null;
  set: boolean | null;
}

export interface DatabaseRoles {
  database: string;
  serverVersion: number;
  roles: NeededRole[];
  /** Memberships touching a needed role, including those in predefined roles and in roles not needed. */
  memberships: Membership[];
}

/** Parses what `psql -XAt -c ROLES_QUERY_SQL` printed: one line of JSON. */
export function parseDatabaseRoles(output: string): DatabaseRoles {
  const parsed = JSON.parse(output.trim()) as DatabaseRoles;
  return { ...parsed, roles: parsed.roles ?? [], memberships: parsed.memberships ?? [] };
}

/** GUCs whose list values pg_dumpall writes element by element (dumputils.c: variable_is_guc_list_quote). */
const LIST_QUOTED_SETTINGS = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
]);

/**
 * An idempotent SQL script that creates the roles the database needs and the target lacks,
 * for `restore --create-roles`. One DO block, so it applies whole or not at all. A role that
 * exists is left exactly as it is (attributes, settings, memberships). A created role is
 * NOLOGIN whatever it was at the source: no password travels with a backup. Attributes the
 * restoring role may not give (SUPERUSER, REPLICATION, BYPASSRLS without being superuser…)
 * and memberships it may not grant become warnings naming what is missing, not failures.
 */
export function renderRolesScript(doc: DatabaseRoles): string {
  const roles = doc.roles;
  const names = new Set(roles.map((r) => r.name));
  const lines: string[] = [];
  const comment = (text: string) => lines.push(`-- ${text.replace(/\n/g, ' ')}`);

  comment(`Roles database ${quoteIdent(doc.database)} needs: owners, grantees, roles named in policies, and their memberships.`);
  comment('Passwords never travel with a backup: every role created here is NOLOGIN, even one that could log in');
  comment('at the source (marked "LOGIN at the source"). To let one in, give it a password:');
  comment(`  ALTER ROLE <name> WITH LOGIN PASSWORD '…';`);
  comment('Roles that already exist are left as they are, attributes, settings and memberships included.');
  comment('Run it again at will: it only creates what is missing.');
  const skippedMemberships = doc.memberships.filter((m) => !isPredefined(m.role) && !(names.has(m.role) && names.has(m.member)));
  for (const m of skippedMemberships) {
    comment(
      `Not carried: membership of ${quoteIdent(m.member)} in ${quoteIdent(m.role)} (${names.has(m.role) ? m.member : m.role} is not used by this database).`,
    );
  }
  if (!roles.length) {
    comment('This database needs no roles beyond predefined ones.');
    return `${lines.join('\n')}\n`;
  }

  const body: string[] = [];
  const tag = dollarTag(roles, doc.memberships);
  for (const role of roles) {
    const name = quoteIdent(role.name);
    const lit = quoteLiteral(role.name);
    body.push(`  -- ${role.name.replace(/\n/g, ' ')}: ${role.reasons.join(', ')}${role.login ? ' (LOGIN at the source)' : ''}`);
    body.push(`  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${lit}) THEN`);
    const options = ['NOLOGIN', role.inherit ? 'INHERIT' : 'NOINHERIT'];
    if (role.connectionLimit !== -1) options.push(`CONNECTION LIMIT ${Number(role.connectionLimit)}`);
    if (role.validUntil) options.push(`VALID UNTIL ${quoteLiteral(role.validUntil)}`);
    body.push(`    CREATE ROLE ${name} ${options.join(' ')};`);
    body.push(`    created := created || ${lit}::text;`);
    const privileged = [
      role.superuser && 'SUPERUSER',
      role.createDb && 'CREATEDB',
      role.createRole && 'CREATEROLE',
      role.replication && 'REPLICATION',
      role.bypassRls && 'BYPASSRLS',
    ].filter((a): a is string => Boolean(a));
    for (const attribute of privileged) {
      body.push(...guarded(`ALTER ROLE ${name} ${attribute}`, `role % created without ${attribute}: %`, lit));
    }
    for (const setting of role.settings) {
      body.push(...guarded(alterRoleSet(name, setting), `role % created without setting ${setting.replace(/[%'\\]/g, '')}: %`, lit));
    }
    if (role.comment) body.push(`    COMMENT ON ROLE ${name} IS ${quoteLiteral(role.comment)};`);
    body.push('  END IF;');
  }

  const carried = doc.memberships.filter((m) => names.has(m.member) && (names.has(m.role) || isPredefined(m.role)));
  if (carried.length) body.push('  -- Memberships, where the member or the group was created just now.');
  for (const m of carried) {
    const options: string[] = [];
    if (m.admin) options.push('ADMIN TRUE');
    if (m.inherit === false) options.push('INHERIT FALSE');
    if (m.set === false) options.push('SET FALSE');
    // ADMIN OPTION is the spelling every version accepts; INHERIT/SET options need 16+.
    const withClause = options.length === 1 && m.admin ? ' WITH ADMIN OPTION' : options.length ? ` WITH ${options.join(', ')}` : '';
    body.push(`  IF ${quoteLiteral(m.member)} = ANY (created) OR ${quoteLiteral(m.role)} = ANY (created) THEN`);
    body.push(
      ...guarded(
        `GRANT ${quoteIdent(m.role)} TO ${quoteIdent(m.member)}${withClause}`,
        `could not make % a member of ${m.role.replace(/[%'\\]/g, '')}: %`,
        quoteLiteral(m.member),
      ).map((l) => `  ${l}`),
    );
    body.push('  END IF;');
  }

  lines.push(`DO ${tag}`);
  lines.push('DECLARE');
  lines.push('  created text[] := ARRAY[]::text[];');
  lines.push('BEGIN');
  lines.push(...body);
  lines.push("  RAISE NOTICE 'roles created: %', CASE WHEN cardinality(created) = 0 THEN 'none (all exist)' ELSE array_to_string(created, ', ') END;");
  lines.push(`END ${tag};`);
  return `${lines.join('\n')}\n`;
}

/** A statement run through EXECUTE in its own block, so a refusal (privilege, syntax of an older server) becomes a WARNING. */
function guarded(statement: string, warning: string, roleLiteral: string): string[] {
  return [
    '    BEGIN',
    `      EXECUTE ${quoteLiteral(statement)};`,
    '    EXCEPTION WHEN OTHERS THEN',
    `      RAISE WARNING ${quoteLiteral(warning)}, ${roleLiteral}, SQLERRM;`,
    '    END;',
  ];
}

/** `name=value` from rolconfig as pg_dumpall writes it: list settings element by element, others as one literal. */
export function alterRoleSet(quotedRole: string, setting: string): string {
  const eq = setting.indexOf('=');
  const name = setting.slice(0, eq);
  const value = setting.slice(eq + 1);
  const rendered = LIST_QUOTED_SETTINGS.has(name.toLowerCase())
    ? splitGucList(value)
        .map((item) => quoteLiteral(item))
        .join(', ')
    : quoteLiteral(value);
  return `ALTER ROLE ${quotedRole} SET ${quoteIdent(name)} TO ${rendered}`;
}

/** Splits a flattened GUC list (`"$user", public`) into its elements, as SplitGUCList does. */
function splitGucList(value: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ' || value[i] === '\t') i++;
    let item = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"' && value[i + 1] === '"') {
          item += '"';
          i += 2;
        } else if (value[i] === '"') {
          i++;
          break;
        } else item += value[i++];
      }
    } else {
      while (i < value.length && value[i] !== ',') item += value[i++];
      item = item.trim();
    }
    items.push(item);
    while (i < value.length && value[i] !== ',') i++;
    i++;
  }
  return items;
}

function isPredefined(name: string): boolean {
  return name.startsWith('pg_');
}

/** A dollar-quote tag that no role name, comment or setting in the script contains. */
function dollarTag(roles: NeededRole[], memberships: Membership[]): string {
  const text = JSON.stringify([roles, memberships]);
  let tag = '$roles$';
  for (let n = 1; text.includes(tag.slice(1, -1)); n++) tag = `$roles${n}$`;
  return tag;
}

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

// Words that must be quoted as role names (reserved, or unreserved but special in role position).
const RESERVED = new Set([
  'all',
  'analyse',
  'analyze',
  'and',
  'any',
  'array',
  'as',
  'asc',
  'asymmetric',
  'both',
  'case',
  'cast',
  'check',
  'collate',
  'column',
  'constraint',
  'create',
  'current_catalog',
  'current_date',
  'current_role',
  'current_time',
  'current_timestamp',
  'current_user',
  'default',
  'deferrable',
  'desc',
  'distinct',
  'do',
  'else',
  'end',
  'except',
  'false',
  'fetch',
  'for',
  'foreign',
  'from',
  'grant',
  'group',
  'having',
  'in',
  'initially',
  'intersect',
  'into',
  'lateral',
  'leading',
  'limit',
  'localtime',
  'localtimestamp',
  'none',
  'not',
  'null',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'placing',
  'primary',
  'public',
  'references',
  'returning',
  'select',
  'session_user',
  'some',
  'symmetric',
  'system_user',
  'table',
  'then',
  'to',
  'trailing',
  'true',
  'union',
  'unique',
  'user',
  'using',
  'variadic',
  'when',
  'where',
  'window',
  'with',
]);
