import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeEncrypt, type EncryptOutput } from '../src/activities/encrypt';
import { ConfigError } from '../src/config';
import { loadEncryptionConfig } from '../src/config/encryption';
import { withDatabase } from '../src/dev/postgres-cluster';
import type { BackupResult } from '../src/common/types';
import { startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase, sql, tableFingerprints } from './support/database';

interface KeyPair {
  identityFile: string;
  recipient: string;
}

let tmp: string;
let source: { name: string; url: string };
let dumpGz: Buffer;
let alice: KeyPair;
let bob: KeyPair;

function keyPair(name: string): KeyPair {
  const identityFile = path.join(tmp, `${name}.key`);
  execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
  return { identityFile, recipient: execFileSync('age-keygen', ['-y', identityFile]).toString().trim() };
}

/** A backup as the pipeline leaves it before `encrypt`: `{db}_production_{ts}.sql.gz`, 0600. */
function placeBackup(stamp: string, bytes = dumpGz): string {
  const file = path.join(tmp, `${source.name}_production_${stamp}.sql.gz`);
  fs.writeFileSync(file, bytes, { mode: 0o600 });
  return file;
}

async function runEncrypt(recipients: string[], file: string, logs: LogEntry[] = []) {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('DEBUG', (e) => logs.push(e)) });
  const beats: Array<{ step: string; bytesIn: number; totalIn: number }> = [];
  env.on('heartbeat', (d) => beats.push(d));
  const result: EncryptOutput = await env.run(makeEncrypt({ recipients }), { path: file });
  return { result, beats };
}

/** `age -d -i KEY FILE | gunzip | psql` into a new database: the operator's restore. */
async function restoreWithAgeCli(file: string, identityFile: string, database: string): Promise<string> {
  const admin = inject('pgAdminUrl');
  await sql(admin, `CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  const url = withDatabase(admin, database);
  execFileSync('bash', [
    '-c',
    'set -o pipefail; age -d -i "$1" "$2" | gunzip -c | psql -q -X -v ON_ERROR_STOP=1 "$3" > /dev/null',
    'restore',
    identityFile,
    file,
    url,
  ]);
  return url;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-encrypt-'));
  source = await freshDemoDatabase('enc_src', 4000);
  // A real dump of a real database, compressed as the pipeline does.
  dumpGz = execFileSync('sh', ['-c', 'pg_dump --format=plain --no-password "$1" | gzip -6', 'dump', source.url], { maxBuffer: 256 * 1024 * 1024 });
  alice = keyPair('alice');
  bob = keyPair('bob');
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('an encrypted backup through the workflow', () => {
  it('is verified, then encrypted for the recipient; age -d | gunzip | psql restores it; checksum covers the .age', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_AGE_RECIPIENTS: alice.recipient });
    try {
      const handle = await startBackup(w, 'production');
      const result: BackupResult = await handle.result();
      expect(result.fileName).toMatch(/_production_\d{8}_\d{6}\.sql\.gz\.age$/);
      expect(result.verification?.verified).toBe(true);
      // The roles sidecar is encrypted to the same recipient: nothing about the database's roles lies in the clear.
      const roles = result.roles!;
      expect(roles.fileName).toBe(result.fileName.replace(/\.sql\.gz\.age$/, '.roles.json.age'));
      expect(fs.readdirSync(w.backupDir).sort()).toEqual([result.fileName, `${result.fileName}.sha256`, roles.fileName, `${roles.fileName}.sha256`].sort());
      expect(fs.statSync(result.filePath).mode & 0o777).toBe(0o600);
      execFileSync('sha256sum', ['-c', `${result.fileName}.sha256`, `${roles.fileName}.sha256`], { cwd: w.backupDir });
      const rolesJson = JSON.parse(execFileSync('age', ['-d', '-i', alice.identityFile, roles.path]).toString());
      expect(rolesJson).toMatchObject({ format: 'pg-backup-workflow/roles', backup: result.fileName, database: source.name });
      expect(fs.readFileSync(roles.path).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      const history = await handle.fetchHistory();
      const steps = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
      );
      expect(steps).toEqual(['dump', 'compress', 'verify', 'encrypt', 'saveRoles', 'stat', 'prune', 'notify']);
      const restored = await restoreWithAgeCli(result.filePath, alice.identityFile, `${source.name}_wf_age`);
      expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
      expect(JSON.stringify(history)).not.toContain('AGE-SECRET-KEY');
    } finally {
      await w.stop();
    }
  });
});

describe('encrypt activity', () => {
  let gz: string;
  let out: { result: EncryptOutput; beats: Array<{ step: string; bytesIn: number; totalIn: number }> };
  const logs: LogEntry[] = [];

  beforeAll(async () => {
    gz = placeBackup('20251020_030000');
    out = await runEncrypt([alice.recipient], gz, logs);
  });

  it('turns X.sql.gz into X.sql.gz.age (0600, age format), removes the plaintext, leaves nothing partial', () => {
    const sha256 = createHash('sha256')
      .update(fs.readFileSync(`${gz}.age`))
      .digest('hex');
    // Size and sha256 of the .age as it was written: stat writes the sidecar from them, without reading the file again.
    expect(out.result).toEqual({ path: `${gz}.age`, fileName: `${path.basename(gz)}.age`, bytes: fs.statSync(`${gz}.age`).size, sha256 });
    expect(fs.existsSync(gz)).toBe(false);
    expect(fs.statSync(`${gz}.age`).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(fs.readFileSync(`${gz}.age`).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    // Ciphertext: the gzip magic is nowhere at the start and the size is the plaintext + age's overhead.
    expect(out.result.bytes).toBeGreaterThan(dumpGz.length);
    expect(out.result.bytes).toBeLessThan(dumpGz.length + 1024 + 16 * Math.ceil(dumpGz.length / 65536));
  });

  it('decrypts with the age CLI and restores with gunzip | psql into identical tables', async () => {
    const restored = await restoreWithAgeCli(`${gz}.age`, alice.identityFile, `${source.name}_from_age`);
    const [original, copy] = await Promise.all([tableFingerprints(source.url), tableFingerprints(restored)]);
    expect(Object.keys(original).sort()).toEqual(['customers', 'orders', 'reviews']);
    expect(copy).toEqual(original);
  });

  it('the wrong identity cannot decrypt it', () => {
    expect(() => execFileSync('age', ['-d', '-i', bob.identityFile, `${gz}.age`], { stdio: 'pipe' })).toThrow(/no identity matched/);
  });

  it('heartbeats its progress and logs no key', () => {
    expect(out.beats[0]).toMatchObject({ step: 'encrypt', totalIn: dumpGz.length });
    const text = JSON.stringify(logs, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    expect(text).toContain('encrypted');
    expect(text).not.toContain(alice.recipient);
    expect(text).not.toContain('AGE-SECRET-KEY');
    expect(JSON.stringify(out.result)).not.toContain(alice.recipient);
  });

  it('a retry after publishing returns the same .age without redoing it', async () => {
    const before = fs.readFileSync(`${gz}.age`);
    const again = await runEncrypt([alice.recipient], gz);
    // Without the digest (stat reads the file then): this attempt did not write it.
    expect(again.result).toEqual({ path: out.result.path, fileName: out.result.fileName, bytes: out.result.bytes });
    expect(fs.readFileSync(`${gz}.age`).equals(before)).toBe(true);
  });

  it('encrypts only the file compress wrote: a plaintext whose sha256 differs is refused, nothing is left', async () => {
    const file = placeBackup('20251019_030000');
    const err = await new MockActivityEnvironment()
      .run(makeEncrypt({ recipients: [alice.recipient] }), { path: file, sha256: '0'.repeat(64) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('SourceChecksumMismatch');
    expect(fs.existsSync(`${file}.age`)).toBe(false);
    expect(fs.existsSync(`${file}.age.part`)).toBe(false);
    const ok: EncryptOutput = await new MockActivityEnvironment().run(makeEncrypt({ recipients: [alice.recipient] }), {
      path: file,
      sha256: createHash('sha256').update(dumpGz).digest('hex'),
    });
    expect(ok.path).toBe(`${file}.age`);
  });

  it('a .sql.zst becomes .sql.zst.age', async () => {
    const file = path.join(tmp, `${source.name}_production_20251018_030000.sql.zst`);
    const plain = execFileSync('gunzip', ['-c'], { input: dumpGz, maxBuffer: 256 * 1024 * 1024 });
    fs.writeFileSync(file, execFileSync('zstd', ['-q', '-c'], { input: plain, maxBuffer: 256 * 1024 * 1024 }), { mode: 0o600 });
    const { result } = await runEncrypt([alice.recipient], file);
    expect(result.fileName).toBe(`${path.basename(file)}.age`);
    expect(execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | zstd -d -q -c | sha256sum', 'x', alice.identityFile, result.path]).toString()).toBe(
      execFileSync('sha256sum', { input: plain }).toString(),
    );
  });

  it('a retry that finds both .age and .gz (crash before unlink) finishes the job', async () => {
    const file = placeBackup('20251020_040000');
    const first = await runEncrypt([alice.recipient], file);
    fs.writeFileSync(file, dumpGz, { mode: 0o600 });
    const again = await runEncrypt([alice.recipient], file);
    expect(again.result).toMatchObject({ path: first.result.path, bytes: first.result.bytes });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('encrypts to every recipient: each identity alone decrypts', async () => {
    const file = placeBackup('20251021_030000');
    const { result } = await runEncrypt([alice.recipient, bob.recipient], file);
    for (const who of [alice, bob]) {
      expect(execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | gunzip -c | sha256sum', 'x', who.identityFile, result.path]).toString()).toBe(
        execFileSync('sha256sum', { input: execFileSync('gunzip', ['-c'], { input: dumpGz, maxBuffer: 256 * 1024 * 1024 }) }).toString(),
      );
    }
  });

  it('cancellation stops it: no .age, no .part, the .gz kept for the next attempt', async () => {
    const big = placeBackup('20251022_030000', randomBytes(96 * 1024 * 1024)); // content does not matter here
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { bytesIn: number }) => {
      if (d.bytesIn > 0) env.cancel();
    });
    const run = env.run(makeEncrypt({ recipients: [alice.recipient] }), { path: big });
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    expect(fs.existsSync(`${big}.age`)).toBe(false);
    expect(fs.existsSync(`${big}.age.part`)).toBe(false);
    expect(fs.statSync(big).size).toBe(96 * 1024 * 1024);
    fs.rmSync(big);
  });

  // Cancelled at any moment of the stream, again and again: never an error escaping the step
  // (one would end the worker), never a file left behind.
  it.each([0, 2, 10, 30, 60, 120, 250].flatMap((ms) => [ms, ms, ms]))(
    'cancelled %i ms in: ends Cancelled or finished, leaves no .age.part, no uncaught error',
    async (ms) => {
      const uncaught: unknown[] = [];
      const onUncaught = (err: unknown) => uncaught.push(err);
      process.on('uncaughtException', onUncaught);
      try {
        const file = placeBackup(`20251023_${String(ms).padStart(6, '0')}`, randomBytes(24 * 1024 * 1024));
        const env = new MockActivityEnvironment();
        const run = env.run(makeEncrypt({ recipients: [alice.recipient] }), { path: file });
        setTimeout(() => env.cancel(), ms);
        const outcome = await run.then(
          () => 'finished',
          (err: unknown) => err,
        );
        // Let any late event of the cancelled streams fire.
        await new Promise((r) => setTimeout(r, 50));
        expect(uncaught).toEqual([]);
        expect(fs.existsSync(`${file}.age.part`)).toBe(false);
        if (outcome === 'finished') {
          expect(fs.existsSync(`${file}.age`)).toBe(true);
        } else {
          expect(outcome).toBeInstanceOf(CancelledFailure);
          expect(fs.existsSync(`${file}.age`)).toBe(false);
          expect(fs.statSync(file).size).toBe(24 * 1024 * 1024);
        }
        fs.rmSync(file, { force: true });
        fs.rmSync(`${file}.age`, { force: true });
      } finally {
        process.removeListener('uncaughtException', onUncaught);
      }
    },
  );

  it('fails without retry when neither the .gz nor its .age exists', async () => {
    const err = await new MockActivityEnvironment()
      .run(makeEncrypt({ recipients: [alice.recipient] }), { path: path.join(tmp, 'gone_production_20250101_000000.sql.gz') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).message).toMatch(/not found: nothing to encrypt/);
  });
});

describe('loadEncryptionConfig', () => {
  const configError = (env: NodeJS.ProcessEnv): ConfigError => {
    try {
      loadEncryptionConfig(env);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it('is off by default', () => {
    expect(loadEncryptionConfig({})).toBeUndefined();
    expect(loadEncryptionConfig({ BACKUP_AGE_RECIPIENTS: '  ' })).toBeUndefined();
  });

  it('takes comma- or whitespace-separated recipients and a recipients file with comments, without duplicates', () => {
    const file = path.join(tmp, 'recipients.txt');
    fs.writeFileSync(file, `# ops team\n${bob.recipient}\n\n  # old key, removed\n${alice.recipient}\n`);
    expect(loadEncryptionConfig({ BACKUP_AGE_RECIPIENTS: `${alice.recipient}, ${bob.recipient}` })).toEqual({ recipients: [alice.recipient, bob.recipient] });
    expect(loadEncryptionConfig({ BACKUP_AGE_RECIPIENTS: `${alice.recipient}\n\t${bob.recipient}` })?.recipients).toHaveLength(2);
    expect(loadEncryptionConfig({ BACKUP_AGE_RECIPIENTS_FILE: file })).toEqual({ recipients: [bob.recipient, alice.recipient] });
    expect(loadEncryptionConfig({ BACKUP_AGE_RECIPIENTS: alice.recipient, BACKUP_AGE_RECIPIENTS_FILE: file })?.recipients).toEqual([
      alice.recipient,
      bob.recipient,
    ]);
  });

  it('rejects a typo, a truncated key, a non-age value, naming the variable and the position', () => {
    const typo = alice.recipient.slice(0, 20) + (alice.recipient[20] === 'q' ? 'p' : 'q') + alice.recipient.slice(21);
    expect(configError({ BACKUP_AGE_RECIPIENTS: `${bob.recipient},${typo}` }).message).toMatch(/^BACKUP_AGE_RECIPIENTS: recipient 2: .* checksum/);
    expect(configError({ BACKUP_AGE_RECIPIENTS: alice.recipient.slice(0, -5) }).message).toMatch(
      /^BACKUP_AGE_RECIPIENTS: recipient 1: .*not a valid age public key/,
    );
    expect(configError({ BACKUP_AGE_RECIPIENTS: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' }).message).toMatch(/not an age public key/);
  });

  it('rejects a pasted private key without echoing it', () => {
    const secret = fs.readFileSync(alice.identityFile, 'utf8').match(/AGE-SECRET-KEY-1\S+/)![0];
    const err = configError({ BACKUP_AGE_RECIPIENTS: secret });
    expect(err.message).toMatch(/^BACKUP_AGE_RECIPIENTS: recipient 1: this is a private key/);
    expect(err.message).not.toContain(secret.slice(16));
  });

  it('rejects an unreadable or empty recipients file', () => {
    expect(configError({ BACKUP_AGE_RECIPIENTS_FILE: path.join(tmp, 'nope.txt') }).message).toMatch(/^BACKUP_AGE_RECIPIENTS_FILE: cannot read .*ENOENT/);
    const empty = path.join(tmp, 'empty.txt');
    fs.writeFileSync(empty, '# nobody yet\n');
    expect(configError({ BACKUP_AGE_RECIPIENTS_FILE: empty }).message).toMatch(/lists no recipient/);
  });
});
