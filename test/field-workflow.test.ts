import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { startThrowawayCluster, withDatabase, type ThrowawayCluster } from '../src/dev/postgres-cluster';
import { startBackup, startTestWorker } from './support/backup-worker';
import { contentsOf, createFieldDatabase, ownershipOf, withClient, type FieldDatabase } from './support/field-database';
import { attemptsOf } from './support/history';

/**
 * The field database (partitions, inheritance, RLS with FORCE, large objects of three owners,
 * grants, a publication, an event trigger) backed up through the real workflow as the roles
 * people use — each run verified by restoring it as that role — then restored with the real
 * CLI onto a second, fresh cluster that has none of its roles.
 */
const ROOT = path.resolve(__dirname, '..');
const CLI = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts')];

let field: FieldDatabase;
let bare: ThrowawayCluster;
let tmp: string;
let identityFile: string;
let recipient: string;
const admin = () => inject('pgAdminUrl');

beforeAll(async () => {
  [field, bare] = await Promise.all([createFieldDatabase(admin(), { prefix: 'fw', eventTrigger: true }), startThrowawayCluster()]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-field-wf-'));
  identityFile = path.join(tmp, 'backup.key');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', identityFile]).toString().trim();
}, 240_000);

afterAll(async () => {
  await field?.cleanup().catch(() => undefined);
  await bare?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function superuser(sql: string): Promise<void> {
  await withClient(field.url, (db) => db.query(sql));
}

/** A real worker backing up the field database as `url`'s role; returns the run's result or its failure, and the history. */
async function backUpAs(url: string, env: Record<string, string> = {}) {
  const w = await startTestWorker({ DATABASE_URL: url, ...env });
  try {
    const handle = await startBackup(w, 'production');
    const outcome = await handle.result().then(
      (result: BackupResult) => ({ result, error: undefined }),
      (error: { cause: { cause: { message: string; nonRetryable: boolean; type: string } } }) => ({ result: undefined, error: error.cause.cause }),
    );
    return { ...outcome, history: await handle.fetchHistory(), dir: w.backupDir };
  } finally {
    await w.stop();
  }
}

const expectedVerification = () => ({
  verified: true,
  tables: Object.keys(field.rowCounts).length,
  rows: Object.values(field.rowCounts).reduce((a, b) => a + b, 0),
  largeObjects: 4,
});

describe('the field database backed up through the workflow', () => {
  it('as a superuser: verified; publications and event triggers are left out of the check, and said so', async () => {
    try {
      const { result, error } = await backUpAs(field.url);
      expect(error).toBeUndefined();
      expect(result!.verification).toEqual({ ...expectedVerification(), skipped: ['publication fw_orders_pub', 'event trigger fw_log_ddl'] });
      // The file is what pg_dump wrote: the ownership the check left out is all there.
      const sql = execFileSync('gunzip', ['-c', result!.filePath], { maxBuffer: 1 << 28 }).toString();
      expect(sql).toContain(`ALTER TABLE "ä".invoices OWNER TO ${field.roles.billingOwner.name};`);
      expect(sql).toContain('CREATE EVENT TRIGGER fw_log_ddl');
    } finally {
      // Only a superuser may create an event trigger: the restores below run as others.
      await superuser('DROP EVENT TRIGGER fw_log_ddl; DROP FUNCTION public.log_ddl()');
    }
  });

  it('as pg_read_all_data without BYPASSRLS: fails in one attempt, before any dump, saying what to grant', async () => {
    const role = field.roles.backupRo.name;
    const { error, history, dir } = await backUpAs(field.roles.backupRo.url);
    expect(error!.type).toBe('BackupRoleCannotReadEverything');
    expect(error!.nonRetryable).toBe(true);
    expect(error!.message).toMatch(
      new RegExp(`^row-level security applies to ${role} on 2 tables app\\.tenant_doc, "ä"\\.invoices \\(FORCE\\).*ALTER ROLE ${role} BYPASSRLS`),
    );
    expect(error!.message).toContain(`${role} may not read 4 large objects`);
    expect(error!.message).toContain(`ALTER ROLE ${role} SET lo_compat_privileges = on`);
    expect(error!.message).not.toContain('--enable-row-security');
    expect(attemptsOf(history, 'dump')).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([]); // no pg_dump ever started
  });

  it('as the owner: FORCE ROW LEVEL SECURITY stops it at once; without FORCE, verified (checked as another role)', async () => {
    const owner = field.roles.appOwner;
    // The owner has no CREATEDB: the check runs as the backup role on the same server.
    const verifyAs = { BACKUP_VERIFY_DATABASE_URL: withDatabase(field.roles.backupRo.url, 'postgres') };
    const forced = await backUpAs(owner.url, verifyAs);
    expect(forced.error!.message).toMatch(/FORCE ROW LEVEL SECURITY applies to the tables' owner too/);
    expect(attemptsOf(forced.history, 'dump')).toBe(1);

    await superuser('ALTER TABLE "ä".invoices NO FORCE ROW LEVEL SECURITY');
    try {
      const { result, error } = await backUpAs(owner.url, verifyAs);
      expect(error).toBeUndefined();
      expect(result!.verification).toEqual({ ...expectedVerification(), skipped: ['publication fw_orders_pub'] });
    } finally {
      await superuser('ALTER TABLE "ä".invoices FORCE ROW LEVEL SECURITY');
    }
  });
});

describe('pg_read_all_data + BYPASSRLS + large objects, encrypted and copied; restored onto a server without the roles', () => {
  let backup: BackupResult;
  let copyDir: string;

  beforeAll(async () => {
    const role = pg.escapeIdentifier(field.roles.backupRoBypassRls.name);
    await superuser(`ALTER ROLE ${role} SET lo_compat_privileges = on`);
    copyDir = path.join(tmp, 'nas');
    const { result, error } = await backUpAs(field.roles.backupRoBypassRls.url, { BACKUP_AGE_RECIPIENTS: recipient, BACKUP_COPY_DIR: copyDir });
    if (error) throw new Error(error.message);
    backup = result!;
    await withClient(bare.adminUrl, (db) => db.query(`CREATE ROLE fw_restorer LOGIN CREATEDB PASSWORD 'restorer-pw'`));
  }, 120_000);

  it('is verified, and its roles sidecar is encrypted, checksummed and copied with it', () => {
    expect(backup.verification).toEqual({ ...expectedVerification(), skipped: ['publication fw_orders_pub'] });
    expect(backup.roles!.fileName).toBe(backup.fileName.replace(/\.sql\.gz\.age$/, '.roles.json.age'));
    expect(fs.readdirSync(copyDir).sort()).toEqual(
      [backup.fileName, `${backup.fileName}.sha256`, backup.roles!.fileName, `${backup.roles!.fileName}.sha256`].sort(),
    );
    const doc = JSON.parse(execFileSync('age', ['-d', '-i', identityFile, backup.roles!.path]).toString());
    expect(doc.roles.map((r: { name: string }) => r.name)).toEqual(['fw_app_owner', 'fw_auditors', 'fw_billing_owner', 'fw_etl', 'fw_reader', 'postgres']);
    expect(JSON.stringify(doc)).not.toMatch(/password|SCRAM|md5[0-9a-f]{32}/i);
  });

  /** The real CLI, the password in PGPASSWORD as an operator would pass it. */
  async function restore(target: string, ...flags: string[]) {
    const url = new URL(target);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const args = [...CLI, 'restore', backup.filePath, '--identity', identityFile, '--target', url.toString(), ...flags];
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, PGPASSWORD: password }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const asRestorer = (database: string) => {
    const u = new URL(withDatabase(bare.adminUrl, database));
    u.username = 'fw_restorer';
    u.password = 'restorer-pw';
    return u.toString();
  };

  async function createDatabase(url: string, name: string): Promise<string> {
    await withClient(withDatabase(url, 'postgres'), (db) => db.query(`CREATE DATABASE ${name} TEMPLATE template0`));
    return withDatabase(url, name);
  }

  it('without options, the restore is refused before loading, naming the missing roles and the ways out', async () => {
    const target = await createDatabase(asRestorer('postgres'), 'fw_refused');
    const run = await restore(target);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the target server lacks roles this backup');
    expect(run.stderr).toMatch(/fw_app_owner, fw_auditors, fw_billing_owner, fw_etl, fw_reader/);
    expect(run.stderr).toMatch(/--create-roles .* or --no-owner/);
    expect(await tables(target)).toBe(0);
  });

  it('--no-owner as a non-superuser: every row, sequence and large object; the restorer owns it all; skipped grants and policies are listed', async () => {
    const target = await createDatabase(asRestorer('postgres'), 'fw_noowner');
    const run = await restore(target, '--no-owner');
    expect(run.stderr).not.toMatch(/ERROR/);
    expect(run.code).toBe(0);
    expect(await contentsOf(withDatabase(bare.adminUrl, 'fw_noowner'))).toEqual(await contentsOf(field.url));
    const owners = new Set(Object.values(await ownershipOf(withDatabase(bare.adminUrl, 'fw_noowner'))).map((v) => v.split(' ')[0]));
    expect(owners.has('fw_app_owner') || owners.has('fw_billing_owner')).toBe(false);
    expect(run.stdout).toMatch(/^skipped \d+ ownership statement\(s\) \(--no-owner\): the restored objects belong to fw_restorer$/m);
    expect(run.stdout).toMatch(
      /^skipped \d+ statement\(s\) naming roles the target lacks, or default privileges of roles fw_restorer may not act as \(.*fw_reader.*\); without them those roles get no access:$/m,
    );
    expect(run.stdout).toContain('  CREATE POLICY reader_sees_public ON app.tenant_doc FOR SELECT TO fw_reader');
    expect(run.stdout).toMatch(/^ {2}GRANT SELECT ON TABLE app\.orders TO fw_etl;$/m);
    expect(run.stdout).toContain('to keep them, restore with --create-roles');
    // Rows counted from what was loaded: the restorer now owns "ä".invoices, whose FORCE RLS would hide them from its count(*).
    expect(run.stdout).toMatch(new RegExp(`^ä\\.invoices\\s+${field.rowCounts['"ä".invoices']}$`, 'm'));
    expect(await withClient(asRestorer('fw_noowner'), async (db) => (await db.query('SELECT count(*)::int AS n FROM "ä".invoices')).rows[0].n)).toBe(0);
  });

  it('--create-roles needs a superuser for exact owners, and says so before loading', async () => {
    const target = await createDatabase(asRestorer('postgres'), 'fw_notsuper');
    const run = await restore(target, '--create-roles');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/needs a superuser: fw_restorer could create those roles but not act as them/);
    expect(await tables(target)).toBe(0);
  });

  it('--create-roles as the new server superuser: roles created NOLOGIN, then rows, sequences, large objects, owners and grants exactly as at the source', async () => {
    const target = await createDatabase(bare.adminUrl, 'fw_exact');
    const run = await restore(target, '--create-roles');
    expect(run.stderr).not.toMatch(/ERROR/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('roles created (NOLOGIN; to let one in: ALTER ROLE name WITH LOGIN PASSWORD');
    expect(run.stdout).toMatch(/fw_app_owner, fw_auditors, fw_billing_owner, fw_etl, fw_reader/);
    expect(run.stdout).not.toMatch(/^skipped/m);
    expect(await contentsOf(target)).toEqual(await contentsOf(field.url));
    expect(await ownershipOf(target)).toEqual(await ownershipOf(field.url));
    const logins = await withClient(bare.adminUrl, (db) =>
      db.query<{ rolname: string; rolcanlogin: boolean }>(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'fw\\_%' AND rolname <> 'fw_restorer' ORDER BY 1",
      ),
    );
    expect(logins.rows).toEqual(['fw_app_owner', 'fw_auditors', 'fw_billing_owner', 'fw_etl', 'fw_reader'].map((rolname) => ({ rolname, rolcanlogin: false })));
  });

  it('--create-roles --no-owner as a non-superuser with CREATEROLE: grants and policies come back to the created roles; what it could not do is said', async () => {
    await withClient(bare.adminUrl, async (db) => {
      await db.query('DROP DATABASE fw_exact');
      await db.query('DROP ROLE fw_app_owner, fw_auditors, fw_billing_owner, fw_etl, fw_reader');
      await db.query('ALTER ROLE fw_restorer CREATEROLE');
    });
    const target = await createDatabase(asRestorer('postgres'), 'fw_created_noowner');
    const run = await restore(target, '--create-roles', '--no-owner');
    expect(run.stderr).not.toMatch(/ERROR/);
    expect(run.code).toBe(0);
    const asAdmin = withDatabase(bare.adminUrl, 'fw_created_noowner');
    expect(await contentsOf(asAdmin)).toEqual(await contentsOf(field.url));
    expect(run.stdout).toMatch(/^roles created \(NOLOGIN.*\): fw_app_owner, fw_auditors, fw_billing_owner, fw_etl, fw_reader$/m);
    expect(run.stdout).toContain('  fw_etl lacks REPLICATION, BYPASSRLS: fw_restorer may not give that (a superuser may)');
    // Policies as at the source; grants to the created roles are back (granted by the restorer, the owner now).
    const policies = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith('policy ')));
    expect(policies(await ownershipOf(asAdmin))).toEqual(policies(await ownershipOf(field.url)));
    const can = await withClient(
      asAdmin,
      async (db) =>
        (
          await db.query(
            `SELECT has_table_privilege('fw_reader', 'app.orders', 'SELECT') AND has_column_privilege('fw_auditors', 'app.customers', 'name', 'SELECT') AS ok`,
          )
        ).rows[0].ok,
    );
    expect(can).toBe(true);
    // Default privileges of the owners: only a member of those roles or a superuser may set them.
    expect(run.stdout).toMatch(/default privileges of roles fw_restorer may not act as/);
    expect(run.stdout).toContain('  ALTER DEFAULT PRIVILEGES FOR ROLE fw_app_owner IN SCHEMA app GRANT SELECT ON TABLES TO fw_reader;');
  });
});

async function tables(url: string): Promise<number> {
  return withClient(url, async (db) =>
    Number((await db.query("SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).rows[0].n),
  );
}

describe('an extension the verifying role may not create', () => {
  let cluster: ThrowawayCluster;
  let backupUrl: string;

  beforeAll(async () => {
    cluster = await startThrowawayCluster();
    await withClient(cluster.adminUrl, async (db) => {
      await db.query(`CREATE ROLE ext_backup LOGIN CREATEDB PASSWORD 'ext-pw'; GRANT pg_read_all_data TO ext_backup`);
      await db.query('CREATE DATABASE ext_src');
    });
    await withClient(withDatabase(cluster.adminUrl, 'ext_src'), (db) =>
      db.query('CREATE EXTENSION pg_stat_statements; CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10)'),
    );
    const u = new URL(withDatabase(cluster.adminUrl, 'ext_src'));
    u.username = 'ext_backup';
    u.password = 'ext-pw';
    backupUrl = u.toString();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('fails verification at once naming it and both fixes; installed in template1, the check passes', async () => {
    const refused = await backUpAs(backupUrl);
    expect(refused.error!.nonRetryable).toBe(true);
    expect(refused.error!.message).toMatch(/^verification failed: restoring the backup failed: .*permission denied to create extension "pg_stat_statements"/);
    expect(refused.error!.message).toContain(
      '"ext_backup" may not create extension "pg_stat_statements" (it is not trusted): verify with a role that may (BACKUP_VERIFY_DATABASE_URL), or install "pg_stat_statements" in template1 so scratch databases have it',
    );
    expect(attemptsOf(refused.history, 'verify')).toBe(1);

    await withClient(withDatabase(cluster.adminUrl, 'template1'), (db) => db.query('CREATE EXTENSION pg_stat_statements'));
    const { result, error } = await backUpAs(backupUrl);
    expect(error).toBeUndefined();
    expect(result!.verification).toEqual({ verified: true, tables: 1, rows: 10 });
  });
});
