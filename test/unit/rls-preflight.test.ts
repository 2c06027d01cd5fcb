import { describe, expect, it } from 'vitest';
import { parseAccessPreflight } from '../../src/postgres/rls-preflight';

const table = (schema: string, name: string, forced = false, asOwner = false) => ({ schema, table: name, owner: 'app_owner', forced, asOwner });
const output = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    role: 'backup_ro',
    superuser: false,
    bypassRls: false,
    tables: [table('app', 'tenant_doc')],
    loCompatPrivileges: false,
    largeObjects: { count: 0, owners: [], examples: [] },
    ...over,
  });

describe('access pre-flight', () => {
  it('names the tables, the role and the fix when row-level security applies', () => {
    expect(parseAccessPreflight(output()).problem).toBe(
      "row-level security applies to backup_ro on table app.tenant_doc, so pg_dump would stop there: ALTER ROLE backup_ro BYPASSRLS (as a superuser), or back up as the tables' owner",
    );
  });

  it('does not offer the owner as a way out when a table forces row-level security on its owner', () => {
    const problem = parseAccessPreflight(output({ role: 'App Owner', tables: [table('ä', 'invoices', true, true)] })).problem;
    expect(problem).toBe(
      'row-level security applies to "App Owner" on table "ä".invoices (FORCE), so pg_dump would stop there: ALTER ROLE "App Owner" BYPASSRLS (as a superuser), or back up as a superuser — ' +
        "FORCE ROW LEVEL SECURITY applies to the tables' owner too, so backing up as the owner does not help",
    );
  });

  it('shortens a long list of tables', () => {
    const tables = Array.from({ length: 8 }, (_, k) => table('s', `t${k}`));
    expect(parseAccessPreflight(output({ tables })).problem).toContain('on 8 tables s.t0, s.t1, s.t2, s.t3, s.t4 and 3 more, so');
  });

  it('reports large objects the role may not read, with the fixes', () => {
    const result = parseAccessPreflight(output({ tables: [], largeObjects: { count: 2, owners: ['app_owner', 'postgres'], examples: [16400, 16401] } }));
    expect(result.unreadableLargeObjects).toEqual({ count: 2, owners: ['app_owner', 'postgres'], examples: [16400, 16401] });
    expect(result.problem).toBe(
      'backup_ro may not read 2 large objects (owned by app_owner, postgres; pg_read_all_data does not cover large objects), so pg_dump would stop there: ' +
        'ALTER ROLE backup_ro SET lo_compat_privileges = on (as a superuser), GRANT SELECT ON LARGE OBJECT … TO backup_ro for each, or back up as their owner',
    );
  });

  it('finds nothing wrong for superusers, for BYPASSRLS (tables) and with lo_compat_privileges (large objects)', () => {
    const lo = { count: 1, owners: ['x'], examples: [1] };
    expect(parseAccessPreflight(output({ superuser: true, largeObjects: lo })).problem).toBeUndefined();
    expect(parseAccessPreflight(output({ bypassRls: true })).problem).toBeUndefined();
    expect(parseAccessPreflight(output({ tables: [], loCompatPrivileges: true, largeObjects: lo })).problem).toBeUndefined();
    expect(parseAccessPreflight(output({ bypassRls: true, largeObjects: lo })).rlsTables).toEqual([]);
  });
});
