import { describe, expect, it } from 'vitest';
import { companionNames, parseRolesSidecar, rolesSidecarName, rolesSidecarText } from '../../src/files/roles-sidecar';
import type { NeededRole } from '../../src/postgres/roles';
import { restoredRowCounts } from '../../src/postgres/row-counts';
import { sqlTokens, tableKey } from '../../src/postgres/sql-statement';
import { rolesNamedIn } from '../../src/postgres/statement-roles';
import { planRoles, type RolesSidecar } from '../../src/restore/roles';

const role = (name: string, reasons: string[]): NeededRole => ({
  name,
  reasons,
  superuser: false,
  inherit: true,
  createRole: false,
  createDb: false,
  login: true,
  replication: false,
  bypassRls: false,
  connectionLimit: -1,
  validUntil: null,
  settings: [],
  comment: null,
});

describe('roles sidecar names', () => {
  it('sits beside its backup, encrypted when the backup is, and goes with it', () => {
    expect(rolesSidecarName('shop_production_20251020_030000.sql.gz')).toBe('shop_production_20251020_030000.roles.json');
    expect(rolesSidecarName('shop_production_20251020_030000_2.sql.gz.age')).toBe('shop_production_20251020_030000_2.roles.json.age');
    expect(rolesSidecarName('shop_production_20251020_030000.sql.gz.sha256')).toBeUndefined();
    expect(companionNames('a_b_20251020_030000.sql.gz.age')).toEqual([
      'a_b_20251020_030000.roles.json',
      'a_b_20251020_030000.roles.json.sha256',
      'a_b_20251020_030000.roles.json.age',
      'a_b_20251020_030000.roles.json.age.sha256',
    ]);
  });

  it('round-trips, and refuses what is not one', () => {
    const text = rolesSidecarText(
      { database: 'shop', serverVersion: 150018, roles: [role('app', ['owns relations'])], memberships: [] },
      'x.sql.gz',
      new Date(0),
    );
    expect(parseRolesSidecar(text, 'x.roles.json')).toMatchObject({
      format: 'pg-backup-workflow/roles',
      version: 1,
      backup: 'x.sql.gz',
      roles: [{ name: 'app' }],
    });
    expect(() => parseRolesSidecar('{"roles": []}', 'x.roles.json')).toThrow(/not a roles sidecar of this project/);
    expect(() => parseRolesSidecar('nope', 'x.roles.json')).toThrow(/is not JSON/);
    expect(() => parseRolesSidecar(text.replace('"version": 1', '"version": 9'), 'x.roles.json')).toThrow(/newer than this version/);
  });
});

describe('restore plans for roles', () => {
  const sidecar: RolesSidecar = {
    path: '/b/x.roles.json',
    doc: {
      format: 'pg-backup-workflow/roles',
      version: 1,
      backup: 'x.sql.gz',
      readAt: '',
      database: 'shop',
      serverVersion: 150018,
      roles: [
        role('app', ['owns relations', 'owns the database']),
        role('reader', ['holds privileges', 'is named in policies']),
        role('team', ['is a group of a role above']),
        role('postgres', ['owns large objects']),
      ],
      memberships: [],
    },
  };
  const target = (names: string[], superuser = true) => ({ current: 'restorer', superuser, names: new Set(names), actAs: new Set<string>() });
  const none = { noOwner: false, noPrivileges: false, createRoles: false };

  it('refuses before loading what could only fail, and says which roles and which options', () => {
    expect(() => planRoles(sidecar, target(['postgres']), none)).toThrow(
      /^the target server lacks roles this backup's objects belong to or are granted to: app, reader \(from x\.roles\.json\)\. Restore with --create-roles .* or --no-owner/,
    );
    // Grantees alone: --no-privileges is a way out too.
    expect(() => planRoles(sidecar, target(['postgres', 'app']), none)).toThrow(/reader .*, or --no-privileges \(no grants at all\); nothing was restored$/);
    expect(planRoles(sidecar, target(['postgres']), { ...none, noOwner: true })).toEqual({ missing: ['app', 'reader'], toCreate: [] });
    // A role only in memberships is named nowhere in the dump.
    expect(planRoles(sidecar, target(['postgres', 'app', 'reader']), none)).toEqual({ missing: [], toCreate: [] });
    expect(planRoles(undefined, target([]), none)).toEqual({ missing: [], toCreate: [] });
  });

  it('--create-roles: creates every absent role, needs the sidecar, and a superuser for exact owners', () => {
    expect(planRoles(sidecar, target(['postgres']), { ...none, createRoles: true })).toEqual({
      missing: ['app', 'reader'],
      toCreate: ['app', 'reader', 'team'],
    });
    expect(() => planRoles(sidecar, target(['postgres'], false), { ...none, createRoles: true })).toThrow(
      /owners \(app\) needs a superuser: restorer could create those roles/,
    );
    expect(planRoles(sidecar, target(['postgres'], false), { ...none, createRoles: true, noOwner: true }).toCreate).toEqual(['app', 'reader', 'team']);
    expect(() => planRoles(undefined, target([]), { ...none, createRoles: true })).toThrow(/--create-roles needs the roles sidecar/);
  });
});

describe('roles named by statements', () => {
  const named = (sql: string) => rolesNamedIn(sqlTokens(sql));
  it('reads grantees, revokees, default-privilege roles, policy roles and grantors; PUBLIC and CURRENT_USER always exist', () => {
    expect(named('GRANT SELECT ON TABLE t TO a, GROUP "B c", PUBLIC;')).toEqual({ roles: ['a', 'B c'], forRoles: [], restrictive: false });
    expect(named('REVOKE GRANT OPTION FOR SELECT ON t FROM a CASCADE;')).toEqual({ roles: ['a'], forRoles: [], restrictive: false });
    expect(named('ALTER DEFAULT PRIVILEGES FOR ROLE o1, o2 IN SCHEMA s GRANT SELECT ON TABLES TO r;')).toEqual({
      roles: ['o1', 'o2', 'r'],
      forRoles: ['o1', 'o2'],
      restrictive: false,
    });
    expect(named('CREATE POLICY p ON t AS RESTRICTIVE FOR SELECT TO CURRENT_USER, x USING ((a = 1));')).toEqual({
      roles: ['x'],
      forRoles: [],
      restrictive: true,
    });
    expect(named('CREATE POLICY p ON t USING ((owner = CURRENT_USER));')).toEqual({ roles: [], forRoles: [], restrictive: false });
    expect(named('GRANT ALL ON t TO a GRANTED BY b;')).toEqual({ roles: ['a', 'b'], forRoles: [], restrictive: false });
    expect(named('CREATE TABLE t (a int);')).toBeUndefined();
  });
});

describe('restored row counts', () => {
  it('pairs COPY tables with the source counts by their stored names, leaving out tables the source did not count', () => {
    expect(tableKey('"ä"."Bestellungen 2025"')).toBe('ä\u0000Bestellungen 2025');
    const copied = [
      { table: { schema: 'ä', name: 'Bestellungen 2025', written: '' }, rows: 3 },
      { table: { schema: 'public', name: 'orders', written: '' }, rows: 7 },
      { table: { schema: 'ext', name: 'config', written: '' }, rows: 1 },
    ];
    expect(restoredRowCounts({ '"ä"."Bestellungen 2025"': 3, 'public.orders': 8, 'public.gone': 1 }, copied)).toEqual({
      '"ä"."Bestellungen 2025"': 3,
      'public.orders': 7,
    });
  });
});
