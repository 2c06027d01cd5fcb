import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeEncrypt, type EncryptOutput } from '../src/activities/encrypt';
import { stat } from '../src/activities/stat';
import { withDatabase } from '../src/dev/postgres-cluster';
import { rolesSidecarPath } from '../src/files/roles-sidecar';
import { writeSidecar } from '../src/files/sidecar';
import { freshDemoDatabase, sql, tableFingerprints } from './support/database';

const ROOT = path.resolve(__dirname, '..');
const TSX = ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'restore'];

let tmp: string;
let dir: string;
let source: { name: string; url: string };
let dumpGz: Buffer;
let identityFile: string;
let recipient: string;
let dbCounter = 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in its own process (one node process: `node --import tsx`), as `npm run restore` runs it. */
function restore(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // As an operator must: the target's password goes in PGPASSWORD, never in --target.
  const at = args.indexOf('--target');
  if (at >= 0 && new URL(args[at + 1]).password) {
    const url = new URL(args[at + 1]);
    env = { PGPASSWORD: decodeURIComponent(url.password), ...env };
    url.password = '';
    args = [...args.slice(0, at + 1), url.toString(), ...args.slice(at + 2)];
  }
  return rawRestore(args, env);
}

function rawRestore(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, ...args], {
      cwd: ROOT,
      env: { ...process.env, BACKUP_DIR: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function emptyDatabase(tag: string): Promise<string> {
  const name = `restore_${tag}_${process.pid}_${++dbCounter}`;
  await sql(inject('pgAdminUrl'), `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  return withDatabase(inject('pgAdminUrl'), name);
}

async function tableCount(url: string): Promise<number> {
  const [{ n }] = await sql<{ n: string }>(url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')");
  return Number(n);
}

/** Writes a backup file (0600) and, unless told not to, its .sha256 sidecar through the real `stat` activity. */
async function place(name: string, bytes: Buffer, sidecar = true): Promise<string> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes, { mode: 0o600 });
  if (sidecar) await new MockActivityEnvironment().run(stat, { path: file });
  return file;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-restore-'));
  dir = path.join(tmp, 'backups');
  fs.mkdirSync(dir, { mode: 0o700 });
  source = await freshDemoDatabase('rst_src', 4000);
  dumpGz = execFileSync('sh', ['-c', 'pg_dump --format=plain --no-password "$1" | gzip -6', 'dump', source.url], { maxBuffer: 256 * 1024 * 1024 });
  identityFile = path.join(tmp, 'restore.key');
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', identityFile]).toString().trim();
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('restore latest', () => {
  it('picks the newest backup of the label by the name, loads it into an empty database, reports row counts', async () => {
    const db = source.name;
    // Older ones are not even gzip: restoring one of them would fail loudly.
    const older = await place(`${db}_production_20251020_030000.sql.gz`, Buffer.from('not this one'));
    await place(`${db}_production_20251021_030000.sql.gz`, Buffer.from('nor this one'));
    await place(`${db}_production_20251021_030000_2.sql.gz`, dumpGz);
    await place(`${db}_staging_20251030_030000.sql.gz`, Buffer.from('another label'));
    fs.writeFileSync(path.join(dir, `${db}_production_20251031_030000.sql.gz.part`), 'unfinished');
    fs.utimesSync(older, new Date(), new Date()); // mtime is not what counts

    const target = await emptyDatabase('latest');
    const run = await restore(['latest', '--target', target]);
    expect(run.stderr).toContain(`${db}_production_20251021_030000_2.sql.gz`);
    expect(run.code).toBe(0);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));
    expect(run.stdout).toMatch(/checksum verified/);
    expect(run.stdout).toMatch(/public\.customers\s+400\n/);
    expect(run.stdout).toMatch(/public\.orders\s+4000\n/);
    expect(run.stdout).toMatch(/public\.reviews\s+4000\n/);
    expect(run.stdout + run.stderr).not.toContain(new URL(target).password);
  });

  it('refuses a password inside --target (it would sit in the process list), without echoing it', async () => {
    const target = await emptyDatabase('pw_in_argv');
    const run = await rawRestore(['latest', '--target', target]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--target must not contain a password');
    expect(run.stdout + run.stderr).not.toContain(new URL(target).password);
  });

  it('refuses a target that already has user tables; --force loads next to unrelated tables', async () => {
    const refused = await restore(['latest', '--target', source.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/already has 3 user table\(s\) \(public\.customers, public\.orders, public\.reviews\).*--force/);

    const target = await emptyDatabase('force');
    await sql(target, 'CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1), (2)');
    expect((await restore(['latest', '--target', target])).code).toBe(1);
    const forced = await restore(['latest', '--target', target, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/public\.keep_me\s+2\n/);
    const { keep_me, ...restored } = await tableFingerprints(target);
    expect(keep_me).toMatch(/^2:/);
    expect(restored).toEqual(await tableFingerprints(source.url));
  });

  it("passes over a backup whose run did not finish (no .sha256) and one of a label that ends in this one's", async () => {
    const db = source.name;
    const own = path.join(tmp, 'latest-labels');
    fs.mkdirSync(own, { mode: 0o700 });
    const put = async (name: string, bytes: Buffer, sidecar: boolean) => {
      fs.writeFileSync(path.join(own, name), bytes, { mode: 0o600 });
      if (sidecar) await new MockActivityEnvironment().run(stat, { path: path.join(own, name) });
    };
    await put(`${db}_production_20251021_030000.sql.gz`, dumpGz, true);
    // Newer, but its run failed verification: the file stays for inspection, without a .sha256.
    await put(`${db}_production_20251022_030000.sql.gz`, Buffer.from('failed run'), false);
    // Newer still, of the label eu_production: its name ends in "_production_…" too.
    await put(`${db}_eu_production_20251023_030000.sql.gz`, Buffer.from('another label'), true);

    const target = await emptyDatabase('latest_labels');
    const run = await restore(['latest', '--dir', own, '--target', target], { BACKUP_ENVIRONMENTS: 'production,eu_production' });
    expect(run.stderr).toContain(`passing over ${db}_production_20251022_030000.sql.gz: no .sha256 beside it`);
    expect(run.stderr).toContain(`restoring ${path.join(own, `${db}_production_20251021_030000.sql.gz`)}`);
    expect(run.code).toBe(0);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));
  });

  it('restores a plain backup whatever identity is configured (it is needed only for .age files)', async () => {
    const target = await emptyDatabase('identity_unused');
    const run = await restore(['latest', '--target', target], { BACKUP_AGE_IDENTITY_FILE: path.join(tmp, 'not-mounted', 'backup.key') });
    expect(run.code).toBe(0);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));
  });

  it('a committed restore is reported as restored even when the restoring role may not count a table that was there before', async () => {
    const target = await emptyDatabase('post_commit');
    const role = `restorer_${process.pid}`;
    await sql(inject('pgAdminUrl'), `DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'restorer-pw'`);
    await sql(
      target,
      `CREATE TABLE secret (id int); GRANT CREATE ON SCHEMA public TO ${role}; GRANT CREATE, TEMP ON DATABASE ${pg.escapeIdentifier(new URL(target).pathname.slice(1))} TO ${role}`,
    );
    const asRestorer = new URL(target);
    asRestorer.username = role;
    asRestorer.password = 'restorer-pw';
    const run = await restore(['latest', '--target', asRestorer.toString(), '--force', '--no-owner']);
    expect(run.stderr).not.toMatch(/restore failed/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/public\.orders\s+4000\n/);
  });

  it('a roles sidecar that is not one says how to restore without it, and the backup restores once it is moved aside', async () => {
    const own = path.join(tmp, 'bad-sidecar');
    fs.mkdirSync(own, { mode: 0o700 });
    const backup = path.join(own, `${source.name}_production_20251021_030000.sql.gz`);
    fs.writeFileSync(backup, dumpGz, { mode: 0o600 });
    const sidecar = rolesSidecarPath(backup)!;
    fs.writeFileSync(sidecar, '{"roles": []}', { mode: 0o600 });
    await writeSidecar(sidecar, execFileSync('sha256sum', [sidecar]).toString().slice(0, 64));

    const target = await emptyDatabase('bad_sidecar');
    const refused = await restore([backup, '--target', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not a roles sidecar of this project .*; to restore the backup without it, move it \(and its \.sha256\) aside/);
    fs.renameSync(sidecar, path.join(tmp, 'moved-aside.roles.json'));
    fs.renameSync(`${sidecar}.sha256`, path.join(tmp, 'moved-aside.roles.json.sha256'));
    const run = await restore([backup, '--target', target]);
    expect(run.code).toBe(0);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));
  });

  it('finds nothing for a label without backups, and says where it looked', async () => {
    const run = await restore(['latest', '--label', 'development', '--target', await emptyDatabase('none')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no backup of label "development" in ${dir}`);
  });
});

describe('encrypted backups', () => {
  let agePath: string;
  const otherDir = () => path.join(tmp, 'encrypted');

  beforeAll(async () => {
    fs.mkdirSync(otherDir(), { mode: 0o700 });
    const gz = path.join(otherDir(), `${source.name}_production_20251101_030000.sql.gz`);
    fs.writeFileSync(gz, dumpGz, { mode: 0o600 });
    const encrypted: EncryptOutput = await new MockActivityEnvironment().run(makeEncrypt({ recipients: [recipient] }), { path: gz });
    agePath = encrypted.path;
    await new MockActivityEnvironment().run(stat, { path: agePath });
  });

  it('decrypts with --identity (or BACKUP_AGE_IDENTITY_FILE) and restores identical tables', async () => {
    const target = await emptyDatabase('age');
    const run = await restore(['latest', '--dir', otherDir(), '--identity', identityFile, '--target', target]);
    expect(run.stderr).toContain(path.basename(agePath));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/decrypted, checksum verified/);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));

    const viaEnv = await emptyDatabase('age_env');
    expect((await restore([agePath, '--target', viaEnv], { BACKUP_AGE_IDENTITY_FILE: identityFile })).code).toBe(0);
    expect(await tableFingerprints(viaEnv)).toEqual(await tableFingerprints(source.url));
  });

  it('without an identity: exit 2 naming the variable and the option', async () => {
    const run = await restore([agePath, '--target', await emptyDatabase('noid')], { BACKUP_AGE_IDENTITY_FILE: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/BACKUP_AGE_IDENTITY_FILE: .* is encrypted: pass --identity FILE/);
  });

  it('with the wrong identity: fails before touching the target, no key in the message', async () => {
    const wrong = path.join(tmp, 'wrong.key');
    execFileSync('age-keygen', ['-o', wrong], { stdio: 'ignore' });
    const target = await emptyDatabase('wrongid');
    const run = await restore([agePath, '--identity', wrong, '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot be decrypted with the identity in .*wrong\.key: it was encrypted to other recipients/);
    expect(run.stderr).not.toContain('AGE-SECRET-KEY');
    expect(await tableCount(target)).toBe(0);
  });

  it('a truncated .age fails clearly and commits nothing', async () => {
    const bytes = fs.readFileSync(agePath);
    const cut = await place('cut_production_20251102_030000.sql.gz.age', bytes.subarray(0, Math.floor(bytes.length * 0.7)), false);
    const target = await emptyDatabase('cutage');
    const run = await restore([cut, '--identity', identityFile, '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is truncated or corrupted: age decryption failed .*nothing was restored/);
    expect(await tableCount(target)).toBe(0);
  });
});

describe('damaged files and bad input', () => {
  it('a truncated .sql.gz fails clearly and commits nothing (psql had already received most of it)', async () => {
    const cut = await place('cut_production_20251103_030000.sql.gz', dumpGz.subarray(0, Math.floor(dumpGz.length * 0.8)), false);
    const target = await emptyDatabase('cutgz');
    const run = await restore([cut, '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /is truncated or corrupted: gzip says "unexpected end of file" \(no \.sha256 sidecar to check it against\); nothing was restored/,
    );
    expect(await tableCount(target)).toBe(0);
  });

  it("restores a .sql.zst; a truncated one fails in zstd's words and commits nothing", async () => {
    const dumpZst = execFileSync('sh', ['-c', 'pg_dump --format=plain --no-password "$1" | zstd -q -3', 'dump', source.url], { maxBuffer: 256 * 1024 * 1024 });
    const file = await place('zst_production_20251105_030000.sql.zst', dumpZst);
    const target = await emptyDatabase('zst');
    const run = await restore([file, '--target', target]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/checksum verified/);
    expect(await tableFingerprints(target)).toEqual(await tableFingerprints(source.url));

    const cut = await place('zstcut_production_20251106_030000.sql.zst', dumpZst.subarray(0, Math.floor(dumpZst.length * 0.8)), false);
    const other = await emptyDatabase('zstcut');
    const failed = await restore([cut, '--target', other]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/is truncated or corrupted: zstd says "zstd decompression failed \(exit code \d+\): .*nothing was restored/);
    expect(await tableCount(other)).toBe(0);
  });

  it('refuses a file that does not match its .sha256 sidecar, and commits nothing', async () => {
    const file = await place('sum_production_20251104_030000.sql.gz', dumpGz);
    fs.writeFileSync(`${file}.sha256`, `${'0'.repeat(64)}  ${path.basename(file)}\n`);
    const target = await emptyDatabase('sum');
    const run = await restore([file, '--target', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/does not match sum_production_20251104_030000\.sql\.gz\.sha256 .*expected 0{64}.*nothing was restored/);
    expect(await tableCount(target)).toBe(0);
  });

  it('a killed restore leaves the target untouched (no COMMIT without the whole file)', async () => {
    // A FIFO lets the test stop the input half-way, once psql's transaction has written (has an xid).
    const fifo = path.join(dir, 'fifo_production_20251105_030000.sql.gz');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const target = await emptyDatabase('killed');
    const bare = new URL(target);
    bare.password = ''; // the password goes in PGPASSWORD, never in --target
    const child = spawn(process.execPath, [...TSX, fifo, '--target', bare.toString()], {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, PGPASSWORD: decodeURIComponent(new URL(target).password) },
    });
    const writer = fs.createWriteStream(fifo);
    writer.write(dumpGz.subarray(0, Math.floor(dumpGz.length / 2)));
    const dbName = new URL(target).pathname.slice(1);
    await waitFor(
      async () => (await sql(inject('pgAdminUrl'), 'SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL', [dbName])).length > 0,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    writer.destroy();
    await waitFor(
      async () =>
        (await sql(inject('pgAdminUrl'), "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg-backup-workflow'", [dbName])).length ===
        0,
    );
    expect(await tableCount(target)).toBe(0);
    fs.rmSync(fifo);
  });

  it('says clearly when the file does not exist or the target is unreachable (exit 1)', async () => {
    const missing = await restore([path.join(dir, 'nope_production_20250101_000000.sql.gz'), '--target', await emptyDatabase('x')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/backup file .*nope_production_20250101_000000\.sql\.gz does not exist/);

    const down = await restore(['latest', '--target', 'postgresql://postgres:s3cret-pw@127.0.0.1:1/nowhere']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot connect to the target database postgresql:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*(refused|failed)/);
    expect(down.stderr).not.toContain('s3cret-pw');

    const noDatabase = await restore(['latest', '--target', withDatabase(inject('pgAdminUrl'), 'no_such_restore_target')]);
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr).toMatch(/database "no_such_restore_target" does not exist: create it first \(createdb -T template0 no_such_restore_target\)/);
  });

  it('exits 2 on usage and configuration errors', async () => {
    const noTarget = await restore(['latest']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/required option '--target <url>' not specified/);
    expect((await restore(['latest', '--target', 'mysql://x/y'])).stderr).toMatch(/configuration error: --target: must be a URI starting with postgresql:\/\//);
    expect((await restore(['latest', '--target', 'mysql://x/y'])).code).toBe(2);
    expect((await restore(['latest', '--label', '../x', '--target', source.url])).code).toBe(2);
    expect((await restore(['a', 'b', '--target', source.url])).code).toBe(2);
    expect((await restore(['latest', '--bogus', '--target', source.url])).code).toBe(2);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
