import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayCluster, withDatabase, type ThrowawayCluster } from '../src/dev/postgres-cluster';
import { DumpFilter, type DumpFilterReport } from '../src/postgres/dump-filter';
import { classifyFailure } from '../src/postgres/failure-kinds';
import { ACCESS_PREFLIGHT_SQL, parseAccessPreflight } from '../src/postgres/rls-preflight';
import { ROLES_QUERY_SQL, parseDatabaseRoles, renderRolesScript, type DatabaseRoles } from '../src/postgres/roles';
import { contentsOf, createFieldDatabase, ownershipOf, type FieldDatabase } from './support/field-database';

/**
 * The field database backed up as the roles people use, verified the way verify will (the
 * dump through the filter, into a scratch database the backup role creates, one transaction,
 * stop at the first error), then restored onto a second cluster that has none of its roles.
 * Two private clusters: roles are cluster-global, and the second one must start bare.
 */
let source: ThrowawayCluster;
let bare: ThrowawayCluster;
let field: FieldDatabase;
let dir: string;
const dumps: Record<string, string> = {};

beforeAll(async () => {
  [source, bare] = await Promise.all([startThrowawayCluster(), startThrowawayCluster()]);
  field = await createFieldDatabase(source.adminUrl, { prefix: 'fb' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-field-'));
}, 240_000);

afterAll(async () => {
  await field?.cleanup().catch(() => undefined);
  await Promise.allSettled([source?.stop(), bare?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a libpq program against `url` with the password in PGPASSWORD, never in argv. */
function libpq(program: string, args: string[], url: string, input?: string): SpawnSyncReturns<string> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return spawnSync(program, [...args, u.toString()], {
    encoding: 'utf8',
    input,
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
    maxBuffer: 1 << 28,
  });
}

function query(url: string, sql: string): string {
  const r = libpq('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], url);
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

function filterFile(file: string): { sql: string; report: DumpFilterReport } {
  const filter = new DumpFilter();
  const out: Buffer[] = [];
  const bytes = fs.readFileSync(file);
  // Uneven chunks, as a pipe delivers them.
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size * 7 + 13) % 65_521 || 1) {
    filter.write(bytes.subarray(at, at + size), (b) => out.push(Buffer.from(b)));
  }
  filter.end((b) => out.push(Buffer.from(b)));
  const sql = path.join(dir, `${path.basename(file, '.sql')}.filtered.sql`);
  fs.writeFileSync(sql, Buffer.concat(out));
  return { sql, report: filter.summary() };
}

/** How verify loads: one transaction, stop at the first error, COPY tags on stdout. */
function loadStrictly(url: string, file: string) {
  return libpq('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', file], url);
}

/** As an operator would to see everything that fails: keep going, collect each ERROR. */
function loadCollectingErrors(url: string, file: string): string[] {
  const r = libpq('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-f', file], url);
  return r.stderr
    .split('\n')
    .filter((line) => line.includes('ERROR:'))
    .map((line) => line.replace(/^psql:[^:]*:\d+: /, ''));
}

function sourceAs(role: 'super' | keyof FieldDatabase['roles'], database = field.name): string {
  const url = role === 'super' ? source.adminUrl : (field.roles[role] as { url: string }).url;
  return withDatabase(url, database);
}

type Outcome = { problem: string | undefined; dumped: boolean; kind?: string; retryable?: boolean };
const outcomes: Record<string, Outcome> = {};

/** The pre-flight's verdict, then pg_dump's, for one role: the dump is kept when it worked. */
function tryDump(label: string, url: string, role: string): void {
  const problem = parseAccessPreflight(query(url, ACCESS_PREFLIGHT_SQL)).problem;
  const file = path.join(dir, `${label}.sql`);
  const r = libpq('pg_dump', ['--no-password', '-f', file], url);
  const failure = r.status === 0 ? undefined : classifyFailure(r.stderr, { role });
  if (r.status === 0) dumps[label] = file;
  outcomes[label] = { problem, dumped: r.status === 0, ...(failure ? { kind: failure.kind, retryable: failure.retryable } : {}) };
}

describe('backing up the field database as the roles people use', () => {
  beforeAll(() => {
    tryDump('superuser', sourceAs('super'), 'postgres');
    tryDump('app_owner', field.roles.appOwner.url, field.roles.appOwner.name);
    tryDump('backup_ro', field.roles.backupRo.url, field.roles.backupRo.name);
    tryDump('backup_rls', field.roles.backupRoBypassRls.url, field.roles.backupRoBypassRls.name);
    query(sourceAs('super', 'postgres'), `ALTER ROLE ${field.roles.backupRoBypassRls.name} SET lo_compat_privileges = on`);
    try {
      tryDump('backup_rls_lo', field.roles.backupRoBypassRls.url, field.roles.backupRoBypassRls.name);
    } finally {
      query(sourceAs('super', 'postgres'), `ALTER ROLE ${field.roles.backupRoBypassRls.name} RESET lo_compat_privileges`);
    }
  });

  it('the pre-flight names exactly the roles pg_dump will refuse, and why; pg_dump agrees', () => {
    expect(outcomes.superuser).toEqual({ problem: undefined, dumped: true });
    // FORCE ROW LEVEL SECURITY: even the owner (app_owner holds billing_owner's privileges) is refused.
    expect(outcomes.app_owner).toMatchObject({ dumped: false, kind: 'row-level-security', retryable: false });
    expect(outcomes.app_owner.problem).toBe(
      `row-level security applies to fb_app_owner on table "ä".invoices (FORCE), so pg_dump would stop there: ALTER ROLE fb_app_owner BYPASSRLS (as a superuser), or back up as a superuser — ` +
        `FORCE ROW LEVEL SECURITY applies to the tables' owner too, so backing up as the owner does not help`,
    );
    // pg_read_all_data bypasses neither row-level security nor large-object permissions.
    expect(outcomes.backup_ro).toMatchObject({ dumped: false, kind: 'row-level-security', retryable: false });
    expect(outcomes.backup_ro.problem).toMatch(
      /^row-level security applies to fb_backup_ro on 2 tables app\.tenant_doc, "ä"\.invoices \(FORCE\).*ALTER ROLE fb_backup_ro BYPASSRLS/,
    );
    expect(outcomes.backup_ro.problem).toContain('fb_backup_ro may not read 4 large objects');
    expect(outcomes.backup_rls).toMatchObject({ dumped: false, kind: 'permission-denied', retryable: false });
    expect(outcomes.backup_rls.problem).toMatch(
      /^fb_backup_rls may not read 4 large objects \(owned by fb_app_owner, fb_billing_owner, postgres; .*ALTER ROLE fb_backup_rls SET lo_compat_privileges = on/,
    );
    expect(outcomes.backup_rls_lo).toEqual({ problem: undefined, dumped: true });
  });

  it.each(
    [
      ['--inserts'],
      ['--quote-all-identifiers', '--use-set-session-authorization'],
      ['--column-inserts', '--rows-per-insert=100'],
      ['--create', '--clean', '--if-exists'],
    ].map((options) => [options.join(' '), options] as const),
  )('filtered pg_dump %s output has the statements of pg_dump --no-owner --no-privileges with the same options', (_name, options) => {
    const full = libpq('pg_dump', ['--no-password', ...options], sourceAs('super'));
    const reference = libpq('pg_dump', ['--no-password', '--no-owner', '--no-privileges', ...options], sourceAs('super'));
    const filter = new DumpFilter();
    const out: Buffer[] = [];
    const bytes = Buffer.from(full.stdout);
    for (let at = 0; at < bytes.length; at += 4093) filter.write(bytes.subarray(at, at + 4093), (b) => out.push(Buffer.from(b)));
    filter.end((b) => out.push(Buffer.from(b)));
    expect(statementLines(Buffer.concat(out).toString('utf8'))).toEqual(statementLines(reference.stdout));
  });

  describe.each(['superuser', 'backup_rls_lo'])('the dump taken as %s', (label) => {
    let filtered: { sql: string; report: DumpFilterReport };
    beforeAll(() => {
      filtered = filterFile(dumps[label]);
    });

    it('says what it leaves out, and leaves out exactly what pg_dump --no-owner --no-privileges does', () => {
      expect(filtered.report.skipped).toEqual({
        owner: 31,
        'large-object-owner': 4,
        grant: 24,
        revoke: 1,
        'default-privileges': 3,
        // reader's own grant to etl, written as SET SESSION AUTHORIZATION reader … RESET SESSION AUTHORIZATION
        'session-authorization': 2,
        'security-label': 0,
        // Kept by default: verification asks for these to be left out, restore for missing roles' statements.
        publication: 0,
        subscription: 0,
        'event-trigger': 0,
        'extension-comment': 0,
        'missing-role': 0,
      });
      const reference = path.join(dir, `${label}.reference.sql`);
      const r = libpq('pg_dump', ['--no-password', '--no-owner', '--no-privileges', '-f', reference], sourceAs('super'));
      expect(r.status).toBe(0);
      expect(statementLines(fs.readFileSync(filtered.sql, 'utf8'))).toEqual(statementLines(fs.readFileSync(reference, 'utf8')));
    });

    it('loads as backup_ro into a scratch database it creates, in one transaction, and every row, sequence and large object matches', async () => {
      const scratch = `fb_verify_${label}`;
      query(withDatabase(field.roles.backupRo.url, 'postgres'), `CREATE DATABASE ${scratch} TEMPLATE template0`);
      const target = withDatabase(field.roles.backupRo.url, scratch);
      const unfiltered = loadStrictly(target, dumps[label]);
      expect(unfiltered.status).not.toBe(0);
      expect(unfiltered.stderr).toMatch(/ERROR: {2}must be member of role "fb_(app|billing)_owner"/);

      const load = loadStrictly(target, filtered.sql);
      expect(load.stderr.split('\n').filter((l) => l.includes('ERROR'))).toEqual([]);
      expect(load.status).toBe(0);
      expect(await contentsOf(withDatabase(source.adminUrl, scratch))).toEqual(await contentsOf(field.url));
      // The verifying role now owns "ä".invoices, whose FORCE ROW LEVEL SECURITY applies to owners:
      // counted as that role the table looks empty, so restored rows must be counted from COPY's tags.
      expect(query(target, 'SELECT count(*) FROM "ä".invoices')).toBe('0');

      // The COPY tags psql prints pair, in order, with the tables the filter saw: row counts without a second scan.
      const tags = load.stdout
        .split('\n')
        .filter((l) => /^COPY \d+$/.test(l))
        .map((l) => Number(l.slice(5)));
      const copied = Object.fromEntries(filtered.report.copyTables.map((t, k) => [`${quote(t.schema!)}.${quote(t.name)}`, tags[k]]));
      expect(tags).toHaveLength(filtered.report.copyTables.length);
      expect(copied).toEqual(field.rowCounts);
      expect(filtered.report.extensions).toEqual(['citext', 'hstore']);
      query(withDatabase(field.roles.backupRo.url, 'postgres'), `DROP DATABASE ${scratch}`);
    });
  });
});

describe('restoring onto a second cluster that has none of the roles', () => {
  let roles: DatabaseRoles;
  let script: string;
  const restorerPassword = 'restorer-secret-7c1b';
  const restorerUrl = (database: string) => {
    const u = new URL(withDatabase(bare.adminUrl, database));
    u.username = 'fb_restorer';
    u.password = restorerPassword;
    return u.toString();
  };
  const needed = ['fb_app_owner', 'fb_auditors', 'fb_billing_owner', 'fb_etl', 'fb_reader', 'postgres'];

  beforeAll(() => {
    roles = parseDatabaseRoles(query(field.roles.backupRo.url, ROLES_QUERY_SQL));
    script = renderRolesScript(roles);
    fs.writeFileSync(path.join(dir, 'roles.sql'), script);
    query(bare.adminUrl, `CREATE ROLE fb_restorer LOGIN CREATEDB CREATEROLE PASSWORD '${restorerPassword}'`);
  });

  it('the roles the database needs are read as backup_ro: owners, grantees, policy roles, memberships — no backup role, no password', () => {
    expect(roles.roles.map((r) => r.name)).toEqual(needed);
    expect(roles.roles.find((r) => r.name === 'fb_reader')?.reasons).toEqual(['granted privileges', 'holds privileges', 'is named in policies']);
    expect(roles.roles.find((r) => r.name === 'fb_auditors')?.reasons).toEqual(['holds privileges']);
    for (const secret of Object.values(field.roles).flatMap((r) => (typeof r === 'string' ? [] : [r.password]))) expect(script).not.toContain(secret);
    expect(script.split('\n').filter((line) => !line.startsWith('--') && /PASSWORD/i.test(line))).toEqual([]);
    expect(script.match(/CREATE ROLE [^;]*;/g)?.every((s) => s.includes(' NOLOGIN'))).toBe(true);
  });

  it('carries the same attributes, settings and memberships as pg_dumpall --globals-only --no-role-passwords, run as backup_ro', () => {
    const globals = libpq('pg_dumpall', ['--globals-only', '--no-role-passwords', '--no-password', '-d'], field.roles.backupRo.url);
    expect(globals.status).toBe(0);
    for (const role of roles.roles) {
      const alter = new RegExp(`^ALTER ROLE ${role.name} WITH (.*);$`, 'm').exec(globals.stdout)?.[1] ?? '';
      const words = alter.split(' ');
      expect(words.includes('SUPERUSER'), role.name).toBe(role.superuser);
      expect(words.includes('LOGIN'), role.name).toBe(role.login);
      expect(words.includes('BYPASSRLS'), role.name).toBe(role.bypassRls);
      expect(words.includes('REPLICATION'), role.name).toBe(role.replication);
      expect(words.includes('CREATEDB'), role.name).toBe(role.createDb);
      expect(words.includes('INHERIT'), role.name).toBe(role.inherit);
      expect(/CONNECTION LIMIT (\d+)/.exec(alter)?.[1] ?? '-1', role.name).toBe(String(role.connectionLimit));
    }
    const granted = [...globals.stdout.matchAll(/^GRANT (\S+) TO (\S+)( WITH ADMIN OPTION)? GRANTED BY/gm)]
      .filter((m) => needed.includes(m[2]))
      .map((m) => `${m[2]} in ${m[1]}${m[3] ? ' with admin' : ''}`)
      .sort();
    expect(roles.memberships.map((m) => `${m.member} in ${m.role}${m.admin ? ' with admin' : ''}`).sort()).toEqual(granted);
    expect(globals.stdout).toContain(`ALTER ROLE fb_etl SET search_path TO '$user', 'app', 'ä';`);
    expect(script).toContain(`EXECUTE 'ALTER ROLE fb_etl SET search_path TO ''$user'', ''app'', ''ä''';`);
  });

  it('without the roles, --no-owner --no-privileges loads everything but the policies that name missing roles', async () => {
    query(restorerUrl('postgres'), 'CREATE DATABASE fb_noroles TEMPLATE template0');
    const errors = loadCollectingErrors(restorerUrl('fb_noroles'), filterFile(dumps.superuser).sql);
    expect(errors).toEqual(['ERROR:  role "fb_reader" does not exist', 'ERROR:  role "fb_billing_owner" does not exist']);
    const { contents } = { contents: await contentsOf(withDatabase(bare.adminUrl, 'fb_noroles')) };
    expect(contents).toEqual(await contentsOf(field.url));
    query(bare.adminUrl, 'DROP DATABASE fb_noroles');
  });

  it('the roles script, run by a CREATEROLE role, creates the missing roles NOLOGIN, warns about what it may not give, leaves existing roles alone, and runs again harmlessly', () => {
    query(bare.adminUrl, 'CREATE ROLE fb_reader LOGIN CONNECTION LIMIT 3');
    const first = libpq('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(dir, 'roles.sql')], restorerUrl('postgres'));
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('NOTICE:  roles created: fb_app_owner, fb_auditors, fb_billing_owner, fb_etl');
    expect(first.stderr).toContain(
      'WARNING:  role fb_etl created without REPLICATION: must be superuser to alter replication roles or change replication attribute',
    );
    expect(first.stderr).toContain('WARNING:  role fb_etl created without BYPASSRLS: must be superuser to change bypassrls attribute');
    const state = query(
      bare.adminUrl,
      "SELECT string_agg(format('%s login=%s limit=%s bypassrls=%s', rolname, rolcanlogin, rolconnlimit, rolbypassrls), ', ' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'fb\\_%' AND rolname <> 'fb_restorer'",
    );
    expect(state).toBe(
      'fb_app_owner login=f limit=-1 bypassrls=f, fb_auditors login=f limit=-1 bypassrls=f, fb_billing_owner login=f limit=20 bypassrls=f, ' +
        'fb_etl login=f limit=-1 bypassrls=f, fb_reader login=t limit=3 bypassrls=f',
    );
    expect(query(bare.adminUrl, "SELECT shobj_description('fb_etl'::regrole, 'pg_authid')")).toBe('nightly export; it\'s "quoted"');
    // fb_reader existed: its membership in the new fb_auditors is carried; nothing else about it changed.
    expect(query(bare.adminUrl, "SELECT pg_has_role('fb_reader', 'fb_auditors', 'MEMBER')")).toBe('t');
    const again = libpq('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(dir, 'roles.sql')], restorerUrl('postgres'));
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('NOTICE:  roles created: none (all exist)');
    for (const role of ['fb_app_owner', 'fb_auditors', 'fb_billing_owner', 'fb_etl', 'fb_reader']) query(bare.adminUrl, `DROP ROLE ${role}`);
  });

  it('with the roles created first, the unfiltered dump restores by a superuser with every owner and grant as at the source', async () => {
    const roles = libpq('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', path.join(dir, 'roles.sql')], bare.adminUrl);
    expect(roles.status).toBe(0);
    expect(roles.stderr).not.toContain('WARNING');
    query(bare.adminUrl, 'CREATE DATABASE fb_exact TEMPLATE template0');
    const target = withDatabase(bare.adminUrl, 'fb_exact');
    const load = loadStrictly(target, dumps.superuser);
    expect(load.stderr.split('\n').filter((l) => l.includes('ERROR'))).toEqual([]);
    expect(await ownershipOf(target)).toEqual(await ownershipOf(field.url));
    expect(await contentsOf(target)).toEqual(await contentsOf(field.url));
    expect(query(bare.adminUrl, "SELECT rolbypassrls AND rolreplication AND NOT rolcanlogin FROM pg_roles WHERE rolname = 'fb_etl'")).toBe('t');
  });

  it('the script survives role names and settings that need quoting, as the server reads them back', () => {
    const base = {
      superuser: false,
      inherit: true,
      createRole: false,
      createDb: false,
      login: true,
      replication: false,
      bypassRls: false,
      connectionLimit: -1,
      validUntil: null,
      comment: null,
    };
    const weird: DatabaseRoles = {
      database: 'x',
      serverVersion: 150000,
      roles: [
        {
          ...base,
          name: 'fbx Dev Team',
          reasons: ['holds privileges'],
          settings: ['search_path="$user", "a,b", public', "application_name=it's; DROP ROLE x"],
        },
        { ...base, name: 'fbx a"b $roles$', reasons: ['owns relations'], settings: [], comment: 'END $roles$; --' },
      ],
      memberships: [{ role: 'fbx a"b $roles$', member: 'fbx Dev Team', grantor: 'postgres', admin: true, inherit: null, set: null }],
    };
    const r = libpq('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], bare.adminUrl, renderRolesScript(weird));
    expect(r.stderr).toContain('NOTICE:  roles created: fbx Dev Team, fbx a"b $roles$');
    expect(query(bare.adminUrl, "SELECT rolconfig::text FROM pg_roles WHERE rolname = 'fbx Dev Team'")).toBe(
      `{"search_path=\\"$user\\", \\"a,b\\", public","application_name=it's; DROP ROLE x"}`,
    );
    expect(query(bare.adminUrl, `SELECT pg_has_role('fbx Dev Team', 'fbx a"b $roles$', 'MEMBER')`)).toBe('t');
    query(bare.adminUrl, 'DROP ROLE "fbx Dev Team", "fbx a""b $roles$"');
  });
});

/** Only comments and blank lines may differ (pg_dump writes "Owner: -", and \\restrict keys are random). */
function statementLines(sql: string): string[] {
  return sql.split('\n').filter((line) => line !== '' && !line.startsWith('--') && !/^\\(un)?restrict /.test(line));
}

function quote(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
