import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { humanSize } from '../src/common/human-size';
import type { BackupResult } from '../src/common/types';
import { runCli, type CliIo } from '../src/cli/program';
import type { Env } from '../src/config/registry';
import type { BackupListing } from '../src/listing/list';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';

/** `pg-backup-workflow list …` */
const runListCli = (argv: string[], env: Env, io: CliIo) => runCli(['list', ...argv], { env, io });

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

describe('npm run backups, on backups made by a real worker', () => {
  let verifying: TestWorker;
  let unverified: TestWorker;
  let tampered: BackupResult;
  let intact: BackupResult;
  let noSidecar: BackupResult;
  const env = () => ({ PATH: process.env.PATH, BACKUP_DIR: verifying.backupDir, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' });

  beforeAll(async () => {
    const db = await freshDemoDatabase('listing');
    verifying = await startTestWorker({ DATABASE_URL: db.url });
    unverified = await startTestWorker({ DATABASE_URL: db.url, BACKUP_VERIFY: 'false', BACKUP_DIR: verifying.backupDir });
    tampered = await (await startBackup(verifying, 'production')).result();
    // A label with `_`, like the database name: only the run knows where one ends.
    intact = await (await startBackup(verifying, 'eu_west')).result();
    noSidecar = await (await startBackup(unverified, 'production')).result();
    fs.writeFileSync(tampered.checksumPath, `${'0'.repeat(64)}  ${tampered.fileName}\n`);
    fs.rmSync(noSidecar.checksumPath);
    // Roles sidecars: one damaged (its file changed after its .sha256 was written), one gone.
    fs.appendFileSync(tampered.roles!.path, ' ');
    fs.rmSync(noSidecar.roles!.path);
    fs.writeFileSync(path.join(verifying.backupDir, 'unrelated.txt'), 'not a backup');
  });
  afterAll(async () => {
    await unverified?.stop();
    await verifying?.stop();
  });

  it('shows label, size, age, checksum, roles sidecar, verified and copies; a tampered sidecar is a MISMATCH (exit 1)', async () => {
    const io = capture();
    expect(await runListCli([], env(), io)).toBe(1);
    const [header, ...rest] = io.lines.join('\n').split('\n');
    expect(header).toMatch(/^LABEL +SIZE +AGE +CHECKSUM +ROLES +VERIFIED +COPIES +FILE$/);
    const row = (r: BackupResult) => rest.find((l) => l.endsWith(` ${r.fileName}`)) ?? '';
    const size = (r: BackupResult) => r.size.replace('.', '\\.');
    expect(row(tampered)).toMatch(new RegExp(`^production +${size(tampered)} +\\d+s +MISMATCH +MISMATCH +yes +- +${tampered.fileName}$`));
    expect(row(intact)).toMatch(new RegExp(`^eu_west +${size(intact)} +\\d+s +ok +ok +yes +- +${intact.fileName}$`));
    expect(row(noSidecar)).toMatch(new RegExp(`^production +${size(noSidecar)} +\\d+s +missing +- +no +- +${noSidecar.fileName}$`));
    // Newest first.
    expect(rest.slice(0, 3).map((l) => l.split(/ +/).at(-1))).toEqual([noSidecar.fileName, intact.fileName, tampered.fileName]);
    expect(rest).toContain(`3 backup(s), ${humanSize(tampered.sizeBytes + intact.sizeBytes + noSidecar.sizeBytes)} in ${verifying.backupDir}`);
    expect(rest).toContain(`Temporal ${inject('temporalAddress')}: 3 of 3 matched a completed backup run`);
    expect(rest.slice(-2)).toEqual([
      `MISMATCH ${tampered.fileName}: sidecar says ${'0'.repeat(64)}`,
      expect.stringMatching(new RegExp(`^MISMATCH ${tampered.roles!.fileName}: sidecar says [0-9a-f]{64}$`)),
    ]);
  });

  it('--no-checksum skips reading the files; --label filters', async () => {
    const io = capture();
    expect(await runListCli(['--no-checksum', '--label', 'production'], env(), io)).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toMatch(new RegExp(` skipped +yes +yes +- +${tampered.fileName}`));
    expect(text).not.toContain(intact.fileName);
  });

  it('says unknown when Temporal is unreachable, and still lists and checks the files', async () => {
    const io = capture();
    expect(await runListCli([], { ...env(), TEMPORAL_ADDRESS: '127.0.0.1:1' }, io)).toBe(1);
    const text = io.lines.join('\n');
    expect(text).toMatch(new RegExp(`^production +\\S+ \\S+ +\\d+s +MISMATCH +MISMATCH +unknown +unknown +${tampered.fileName}$`, 'm'));
    // Without the run the label is guessed from the name: the part after the last "_".
    expect(text).toMatch(new RegExp(`^west +.* ok +ok +unknown +unknown +${intact.fileName}$`, 'm'));
    expect(text).toMatch(
      /^cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS, namespace default\): connection refused .*; VERIFIED and COPIES unknown$/m,
    );
  });

  it('--json, through the npm script', async () => {
    const failure = await run('npm', ['run', '--silent', 'backups', '--', '--json'], { cwd: ROOT, env: { ...process.env, ...env() } }).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failure?.code).toBe(1);
    const listing = JSON.parse(failure!.stdout) as BackupListing;
    expect(listing).toMatchObject({ directory: verifying.backupDir, temporal: { reachable: true, address: inject('temporalAddress') } });
    expect(listing.backups).toHaveLength(3);
    const byName = Object.fromEntries(listing.backups.map((b) => [b.fileName, b]));
    expect(byName[tampered.fileName]).toEqual({
      fileName: tampered.fileName,
      path: tampered.filePath,
      label: 'production',
      encrypted: false,
      sizeBytes: tampered.sizeBytes,
      size: tampered.size,
      takenAt: tampered.startedAt,
      ageMs: expect.any(Number),
      checksum: 'MISMATCH',
      checksumDetail: `sidecar says ${'0'.repeat(64)}`,
      roles: { fileName: tampered.roles!.fileName, checksum: 'MISMATCH', checksumDetail: expect.stringMatching(/^sidecar says [0-9a-f]{64}$/) },
      verified: true,
      verification: tampered.verification,
      copies: [],
      run: { workflowId: expect.stringMatching(/^test-backup-production-/), runId: expect.any(String) },
    });
    expect(byName[intact.fileName]).toMatchObject({
      label: 'eu_west',
      checksum: 'ok',
      roles: { fileName: intact.roles!.fileName, checksum: 'ok' },
      verified: true,
    });
    expect(byName[noSidecar.fileName]).toMatchObject({ checksum: 'missing', roles: null, verified: false, verification: null });
    expect(listing.totalBytes).toBe(tampered.sizeBytes + intact.sizeBytes + noSidecar.sizeBytes);
  });
});

function capture() {
  const io = { lines: [] as string[], errors: [] as string[], out: (t: string) => void io.lines.push(t), err: (t: string) => void io.errors.push(t) };
  return io;
}
