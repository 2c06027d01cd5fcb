import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeCopyToDirectory } from '../src/activities/copy-dir';
import type { BackupResult } from '../src/common/types';
import { chooseCompressEngine } from '../src/compression/engine';
import { backupFiles, startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase, restoreWithPsql, tableFingerprints } from './support/database';
import { fatMountUnavailable, mountFat, type FatMount } from './support/fat-mount';
import { lockTable, pgDumpProcesses, waitFor } from './support/faults';
import { attemptsOf } from './support/history';
import { environOf } from './support/process-tree';
import { isolatedHostUnavailable, startIsolatedHost, waitForOutput, type IsolatedHost } from './support/second-host';

let source: { name: string; url: string };
let connection: Connection;
let client: Client;
beforeAll(async () => {
  source = await freshDemoDatabase('shared', 4000);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
});
afterAll(async () => connection?.close());

const hostSkip = isolatedHostUnavailable();

describe("a backup directory shared by two hosts (NFS-like: neither sees the other's processes)", () => {
  const hosts: IsolatedHost[] = [];
  afterAll(async () => {
    for (const h of hosts) await h.crash().catch(() => undefined);
  });
  const startHost = async (hostname: string, env: Record<string, string>) => {
    const host = startIsolatedHost({ hostname, env: { DATABASE_URL: source.url, TEMPORAL_ADDRESS: inject('temporalAddress'), ...env } });
    hosts.push(host);
    await waitForOutput(host, 'backup worker polling');
    return host;
  };

  it.skipIf(hostSkip)("a worker starting on one host, and its own backups there, never touch another host's live files", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-shared-'));
    const [queueA, queueB] = [`host-a-${randomUUID().slice(0, 8)}`, `host-b-${randomUUID().slice(0, 8)}`];
    const common = { BACKUP_DIR: dir, BACKUP_RETRY_INTERVAL: '1s', BACKUP_HEARTBEAT_TIMEOUT: '5s' };
    await startHost('db-backup-a', { ...common, BACKUP_TASK_QUEUE: queueA });
    const lock = await lockTable(source.url, 'orders');
    try {
      // Host A's dump holds its .part (and its record) while it waits for the lock.
      const onA = await client.workflow.start('backupDatabase', { taskQueue: queueA, workflowId: `shared-a-${randomUUID()}`, args: ['production'] });
      await waitFor('host A to write its partial file', () => fs.readdirSync(dir).some((f) => f.endsWith('.sql.part')));
      // Not a record's write in flight (`.owner-tmp-…`, renamed over the record a moment later).
      const before = fs
        .readdirSync(dir)
        .filter((f) => !/\.owner-tmp-/.test(f))
        .sort();
      expect(before.some((f) => f.endsWith('.owner'))).toBe(true);

      // Host B starts (its start-up sweep runs) and backs up another label into the same directory (its dump's sweep runs too).
      await startHost('db-backup-b', { ...common, BACKUP_TASK_QUEUE: queueB });
      const onB = await client.workflow.start('backupDatabase', { taskQueue: queueB, workflowId: `shared-b-${randomUUID()}`, args: ['staging'] });
      await waitFor("host B's dump to start", () => fs.readdirSync(dir).some((f) => f.includes('_staging_')));
      for (const f of before) expect(fs.existsSync(path.join(dir, f))).toBe(true);

      await lock.release();
      const [a, b] = (await Promise.all([onA.result(), onB.result()])) as BackupResult[];
      expect(await tableFingerprints(await restoreWithPsql(a.filePath, `${source.name}_host_a`))).toEqual(await tableFingerprints(source.url));
      execFileSync('gzip', ['-t', b.filePath]);
      expect(fs.readdirSync(dir).sort()).toEqual([...backupFiles(a), ...backupFiles(b)].sort());
    } finally {
      await lock.release();
    }
  });

  it.skipIf(hostSkip)('when one host dies mid-dump, the run finishes on the other and removes what the dead host left there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-shared-'));
    const queue = `hosts-${randomUUID().slice(0, 8)}`;
    const common = { BACKUP_DIR: dir, BACKUP_TASK_QUEUE: queue, BACKUP_RETRY_INTERVAL: '1s', BACKUP_HEARTBEAT_TIMEOUT: '2s' };
    const [a, b] = [await startHost('db-backup-c', common), await startHost('db-backup-d', common)];
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await client.workflow.start('backupDatabase', { taskQueue: queue, workflowId: `shared-crash-${randomUUID()}`, args: ['production'] });
      await waitFor('a dump to hold its partial file', () => fs.readdirSync(dir).some((f) => f.endsWith('.sql.part')));
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const identity = pending.find((p) => p.activityType?.name === 'dump')?.lastWorkerIdentity ?? '';
      // The worker identity is `<pid>@<host name>`: the host that runs the dump crashes, as a power cut would.
      const victim = [a, b].find((h) => identity.endsWith(`@${h.hostname}`))!;
      expect(victim).toBeDefined();
      await victim.crash();
      await lock.release();
      const result: BackupResult = await handle.result();
      expect(result.fileName).toMatch(/_2\.sql\.gz$/);
      expect(fs.readdirSync(dir).sort()).toEqual(backupFiles(result));
    } finally {
      await lock.release();
    }
  });
});

const fatSkip = fatMountUnavailable();

describe('backups onto a file system without hard links (FAT through FUSE)', () => {
  let fat: FatMount | undefined;
  beforeAll(() => {
    if (!fatSkip) fat = mountFat({ sizeMb: 128 });
  });
  afterAll(() => fat?.unmount());

  // zstd: there the worker reads the dump and feeds zstd (fusefat refuses a program's reads while pg_dump holds the file).
  it.skipIf(fatSkip).each(['gzip', 'zstd'])(
    '%s: publishes the backup and its copy there without link(), never a partial file under a final name',
    async (compression) => {
      const backupDir = path.join(fat!.dir, `backups-${compression}`);
      const copyDir = path.join(fat!.dir, `copies-${compression}`);
      fs.mkdirSync(backupDir);
      expect(await chooseCompressEngine({ kind: 'zstd', level: 3 }, backupDir)).toEqual({ reads: 'worker' });
      const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: backupDir, BACKUP_COPY_DIR: copyDir, BACKUP_COMPRESSION: compression });
      try {
        const handle = await startBackup(w, 'production');
        const result: BackupResult = await handle.result();
        // No step needed a second attempt there (compress follows the dump on FAT too).
        const history = await handle.fetchHistory();
        for (const step of ['dump', 'compress', 'verify', 'saveRoles', 'stat', 'copyToDirectory']) expect(attemptsOf(history, step)).toBe(1);
        expect(result.copies).toEqual([{ target: `dir:${copyDir}`, bytes: result.sizeBytes, sha256: result.sha256 }]);
        expect(fs.readdirSync(backupDir).sort()).toEqual(backupFiles(result));
        expect(fs.readdirSync(copyDir).sort()).toEqual(backupFiles(result));
        expect(fs.readFileSync(path.join(copyDir, result.fileName))).toEqual(fs.readFileSync(result.filePath));
        execFileSync('sha256sum', ['-c', `${result.fileName}.sha256`], { cwd: copyDir });
      } finally {
        await w.stop();
      }
    },
  );

  it.skipIf(fatSkip)('never overwrites a file of that name with other contents', async () => {
    const dir = path.join(fat!.dir, 'taken');
    fs.mkdirSync(dir);
    const local = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-fat-src-'));
    const name = 'app_production_20251020_030000.sql.gz';
    const file = path.join(local, name);
    fs.writeFileSync(file, 'the new backup');
    const sha256 = execFileSync('sha256sum', [file]).toString().split(' ')[0];
    fs.writeFileSync(`${file}.sha256`, `${sha256}  ${name}\n`);
    fs.writeFileSync(path.join(dir, name), 'somebody else');
    const err = await new MockActivityEnvironment()
      .run(makeCopyToDirectory(dir), { path: file, checksumPath: `${file}.sha256`, sha256 })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/already exists with other contents/);
    expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe('somebody else');
    expect(fs.readdirSync(dir)).toEqual([name]);
  });
});

describe("pg_dump's environment", () => {
  it("holds PATH, locale and its own target's password only: no AWS keys, Slack webhook or other labels' URLs", async () => {
    const w = await startTestWorker({
      DATABASE_URL: source.url,
      DATABASE_URL_OTHER: 'postgresql://other:other-secret-pw@127.0.0.1:1/other',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-key-123',
      AWS_ACCESS_KEY_ID: 'AKIATEST',
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/services/T0/B0/slack-secret',
      LANG: 'C.UTF-8',
      HOME: os.homedir(),
      BACKUP_RETRY_INTERVAL: '1s',
    });
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await startBackup(w, 'production');
      const [dump] = await waitFor('pg_dump to run', () => {
        const found = pgDumpProcesses(source.name);
        return found.length ? found : undefined;
      });
      const environment = environOf(dump.pid)!;
      expect(environment).toBeDefined();
      expect(Object.keys(environment).filter((k) => /^(AWS_|SLACK_|DATABASE_URL|BACKUP_|TEMPORAL_)/.test(k))).toEqual([]);
      expect(environment.PGPASSWORD).toBe(decodeURIComponent(new URL(source.url).password));
      expect(environment).toMatchObject({ PATH: expect.any(String), LANG: 'C.UTF-8', PGAPPNAME: 'pg-backup-workflow' });
      await lock.release();
      await handle.result();
    } finally {
      await lock.release();
      await w.stop();
    }
  });
});
