import { describe, expect, it } from 'vitest';
import { alterRoleSet, parseDatabaseRoles, quoteIdent, renderRolesScript, type DatabaseRoles, type NeededRole } from '../../src/postgres/roles';

const role = (name: string, extra: Partial<NeededRole> = {}): NeededRole => ({
  name,
  reasons: ['owns relations'],
  superuser: false,
  inherit: true,
  createRole: false,
  createDb: false,
  login: false,
  replication: false,
  bypassRls: false,
  connectionLimit: -1,
  validUntil: null,
  settings: [],
  comment: null,
  ...extra,
});

const doc = (roles: NeededRole[], memberships: DatabaseRoles['memberships'] = []): DatabaseRoles => ({
  database: 'shop',
  serverVersion: 160004,
  roles,
  memberships,
});

describe('roles script', () => {
  it('writes role settings as pg_dumpall does: list settings element by element, others as one literal', () => {
    expect(alterRoleSet('etl', 'search_path="$user", app, "ä", "a,b"')).toBe(`ALTER ROLE etl SET search_path TO '$user', 'app', 'ä', 'a,b'`);
    expect(alterRoleSet('etl', 'statement_timeout=5min')).toBe(`ALTER ROLE etl SET statement_timeout TO '5min'`);
    expect(alterRoleSet('"Dev Team"', "application_name=it's")).toBe(`ALTER ROLE "Dev Team" SET application_name TO 'it''s'`);
    expect(alterRoleSet('x', 'DateStyle=ISO, MDY')).toBe(`ALTER ROLE x SET "DateStyle" TO 'ISO, MDY'`);
  });

  it('quotes role names that need it', () => {
    expect(['app_owner', 'Dev Team', 'a"b', 'user', 'ä', '1st'].map(quoteIdent)).toEqual(['app_owner', '"Dev Team"', '"a""b"', '"user"', '"ä"', '"1st"']);
  });

  it('creates every role NOLOGIN, gives privileged attributes one at a time so a refusal is a warning, and never mentions a password outside the comment', () => {
    const script = renderRolesScript(
      doc([role('app', { login: true, createDb: true, bypassRls: true, connectionLimit: 5, validUntil: 'infinity', comment: "it's" })]),
    );
    expect(script).toContain("    CREATE ROLE app NOLOGIN INHERIT CONNECTION LIMIT 5 VALID UNTIL 'infinity';");
    expect(script).toContain("      EXECUTE 'ALTER ROLE app CREATEDB';");
    expect(script).toContain("      EXECUTE 'ALTER ROLE app BYPASSRLS';");
    expect(script).toContain("      RAISE WARNING 'role % created without BYPASSRLS: %', 'app', SQLERRM;");
    expect(script).toContain("    COMMENT ON ROLE app IS 'it''s';");
    expect(script).toContain('-- app: owns relations (LOGIN at the source)');
    expect(script.split('\n').filter((l) => !l.startsWith('--') && /PASSWORD|\bLOGIN\b(?! at the source)/.test(l.replace(/NOLOGIN/g, '')))).toEqual([]);
  });

  it('carries memberships among needed roles and in predefined roles, only where one side is new, with the options of the source', () => {
    const script = renderRolesScript(
      doc(
        [role('app'), role('billing'), role('Dev Team')],
        [
          { role: 'billing', member: 'app', grantor: 'postgres', admin: true, inherit: true, set: true },
          { role: 'app', member: 'Dev Team', grantor: 'postgres', admin: false, inherit: false, set: false },
          { role: 'pg_read_all_data', member: 'billing', grantor: 'postgres', admin: false, inherit: null, set: null },
          { role: 'hr', member: 'app', grantor: 'postgres', admin: false, inherit: null, set: null },
        ],
      ),
    );
    expect(script).toContain(
      `  IF 'app' = ANY (created) OR 'billing' = ANY (created) THEN\n      BEGIN\n        EXECUTE 'GRANT billing TO app WITH ADMIN OPTION';`,
    );
    expect(script).toContain(`EXECUTE 'GRANT app TO "Dev Team" WITH INHERIT FALSE, SET FALSE';`);
    expect(script).toContain(`EXECUTE 'GRANT pg_read_all_data TO billing';`);
    expect(script).toContain('-- Not carried: membership of app in hr (hr is not used by this database).');
    expect(script).not.toContain('GRANT hr');
  });

  it('picks a dollar-quote tag that nothing in the script contains', () => {
    const script = renderRolesScript(doc([role('x', { comment: 'contains $roles$ and $roles1$' })]));
    expect(script).toContain('DO $roles2$');
    expect(script.trimEnd().endsWith('END $roles2$;')).toBe(true);
  });

  it('says so when the database needs no role', () => {
    expect(renderRolesScript(doc([]))).toContain('-- This database needs no roles beyond predefined ones.');
    expect(renderRolesScript(doc([]))).not.toContain('DO ');
  });

  it('parses the query output', () => {
    const parsed = parseDatabaseRoles(`${JSON.stringify(doc([role('app')]))}\n`);
    expect(parsed.roles.map((r) => r.name)).toEqual(['app']);
    expect(parsed.memberships).toEqual([]);
  });
});
