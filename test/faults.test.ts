import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSharedActivities } from '../src/activities';
import { loadWorkerConfig } from '../src/config';
import { CancelledFailure } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { currentProcessIdentity } from '../src/files/process-identity';
import type { RunFilesRecord } from '../src/files/run-files';
import { loadScheduleConfig } from '../src/config/schedule';
import { deleteBackupSchedules, triggerBackupSchedules, upsertBackupSchedules } from '../src/schedule/manage';
import type { BackupResult } from '../src/common/types';
import { withDatabase } from '../src/dev/postgres-cluster';
import { startEmbeddedTemporal } from '../src/dev/temporal-server';
import { backupFiles, startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase, restoreWithPsql, sql, tableFingerprints } from './support/database';
import { allCommandLines, dumpsInProgress, lockTable, partialFiles, pgDumpProcesses, runWorkerProcess, spawnWorkerProcess, waitFor } from './support/faults';
import { attemptsOf } from './support/history';
import { startSlackReceiver, type SlackReceiver } from './support/slack-receiver';

const tmpDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `pgbw-${prefix}-`));
let slack: SlackReceiver;
let source: { name: string; url: string };

beforeAll(async () => {
  slack = await startSlackReceiver();
  source = await freshDemoDatabase('faults');
});
afterAll(async () => slack?.close());

describe('worker killed mid-dump', () => {
  it('finishes on the other worker with a restorable file, and says so in history', async () => {
    const dir = tmpDir('killed');
    const taskQueue = `killed-${randomUUID().slice(0, 8)}`;
    const env = {
      DATABASE_URL: source.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BACKUP_DIR: dir,
      BACKUP_TASK_QUEUE: taskQueue,
      BACKUP_HEARTBEAT_TIMEOUT: '2s',
      BACKUP_RETRY_INTERVAL: '1s',
      BACKUP_ACTIVITY_TIMEOUT: '60s',
    };
    const [a, b] = await Promise.all([spawnWorkerProcess(env), spawnWorkerProcess(env)]);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection });
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await client.workflow.start('backupDatabase', { taskQueue, workflowId: `killed-${randomUUID()}`, args: ['production'] });
      const identity = await waitFor('dump to start', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const dump = pending.find((p) => p.activityType?.name === 'dump' && p.lastWorkerIdentity);
        return dump?.lastWorkerIdentity ?? undefined;
      });
      await waitFor('the dump and the compress following it to write', () => partialFiles(dir).length === 2);
      await waitFor('pg_dump to run', () => pgDumpProcesses(source.name).length > 0);
      const pid = Number(identity.split('@')[0]);
      const victim = [a, b].find((w) => w.child.pid === pid);
      expect(victim).toBeDefined();
      victim!.child.kill('SIGKILL');

      // pg_dump dies with its worker instead of holding a snapshot forever.
      await waitFor('the orphaned pg_dump to exit', () => pgDumpProcesses(source.name).length === 0, 5_000);
      await lock.release();

      const result: BackupResult = await handle.result();
      const restored = await restoreWithPsql(result.filePath, `${source.name}_after_kill`);
      expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
      // A new host names its files from `_2` on, so its copies never collide with the lost host's.
      expect(result.fileName).toMatch(/^faults_\d+_\d+_production_\d{8}_\d{6}_2\.sql\.gz$/);
      // The dead worker's dump and the compress that was following it are gone: the run removed
      // what its lost execution left once it finished; nothing but the backup and its checksum stays.
      expect(fs.readdirSync(dir).sort()).toEqual(backupFiles(result));

      const history = await handle.fetchHistory();
      const dumpQueues = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'dump' ? [e.activityTaskScheduledEventAttributes.taskQueue?.name] : [],
      );
      expect(new Set(dumpQueues).size).toBe(2); // the file steps moved to the surviving host
      const memo = await handle.describe().then((d) => d.memo);
      expect(memo?.lostTaskQueues).toEqual([dumpQueues[0]]);
    } finally {
      await lock.release();
      for (const w of [a, b]) w.child.kill('SIGKILL');
      await connection.close();
    }
  });

  it('a busy host is not a lost host: a run waits for a free slot instead of moving or failing', async () => {
    // One file step at a time; a step that cannot start within 4 s (2 × heartbeat) triggers the host check.
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_HOST_CONCURRENCY: '1', BACKUP_HEARTBEAT_TIMEOUT: '2s' });
    const lock = await lockTable(source.url, 'orders');
    try {
      const first = await startBackup(w, 'production');
      await waitFor('the first dump to hold the only slot', () => partialFiles(w.backupDir).length === 1);
      const second = await startBackup(w, 'staging');
      await new Promise((r) => setTimeout(r, 10_000)); // well past two schedule-to-start timeouts
      await lock.release();
      const results: BackupResult[] = await Promise.all([first.result(), second.result()]);
      expect(results.map((r) => r.environment).sort()).toEqual(['production', 'staging']);
      const history = await second.fetchHistory();
      const dumpQueues = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'dump' ? [e.activityTaskScheduledEventAttributes.taskQueue?.name] : [],
      );
      expect(dumpQueues.length).toBeGreaterThan(1); // it asked again while waiting…
      expect(new Set(dumpQueues)).toEqual(new Set([w.config.hostTaskQueue])); // …always on the same, live host
      expect((await second.describe()).memo?.lostTaskQueues).toBeUndefined();
    } finally {
      await lock.release();
      await w.stop();
    }
  });

  it('removes at start only what a crashed worker of this host or a closed run left; another live run, its files and unrecorded files stay', async () => {
    const dir = tmpDir('stale');
    const identity = await currentProcessIdentity();
    const record = (base: string, fields: Partial<RunFilesRecord>) => {
      const files = [`${base}.sql.part`, `${base}.sql`];
      for (const f of files.slice(0, 1)) fs.writeFileSync(path.join(dir, f), 'x');
      fs.writeFileSync(
        path.join(dir, `${base}.owner`),
        JSON.stringify({
          version: 1,
          namespace: 'default',
          workflowId: `wf-${base}`,
          runId: randomUUID(),
          activityId: '1',
          attempt: 1,
          environment: 'production',
          files,
          databases: [],
          writtenAt: new Date().toISOString(),
          ...identity,
          ...fields,
        }),
      );
    };
    // Runs on a queue no worker polls: two stay open, one is ended.
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection });
    const start = () =>
      client.workflow.start('backupDatabase', { taskQueue: `nobody-${randomUUID()}`, workflowId: `stale-${randomUUID()}`, args: ['production'] });
    const [open, alsoOpen] = [await start(), await start()];
    // A worker of this host that died (its pid is gone; its run is still open), one that is alive (this test process), and another host's open run.
    const dead = spawnSync('true').pid!;
    const openRun = { workflowId: alsoOpen.workflowId, runId: alsoOpen.firstExecutionRunId };
    record('app_production_20251020_030000', { pid: dead, pidStartTime: '1', ...openRun });
    record('app_production_20251020_040000', openRun);
    const otherHost = { bootId: 'another-boot', pidNamespace: 'pid:[1]', host: 'db-backup-2' };
    record('app_production_20251020_050000', { ...otherHost, workflowId: open.workflowId, runId: open.firstExecutionRunId });
    // Another host's run that is over: nothing will ever finish its files.
    const over = await start();
    await over.terminate('over');
    record('app_production_20251020_060000', { ...otherHost, workflowId: over.workflowId, runId: over.firstExecutionRunId });
    const unrecorded = path.join(dir, 'app_production_20251020_070000.sql.part');
    fs.writeFileSync(unrecorded, 'x');

    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: dir });
    await w.stop();
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        'app_production_20251020_040000.owner',
        'app_production_20251020_040000.sql.part',
        'app_production_20251020_050000.owner',
        'app_production_20251020_050000.sql.part',
        'app_production_20251020_070000.sql.part',
      ].sort(),
    );
    for (const run of [open, alsoOpen]) await run.terminate('done');
    await connection.close();
  });
});

describe('cancelled run', () => {
  it('stops pg_dump within 5 seconds, removes partial files and ends Cancelled', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url });
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await startBackup(w, 'production');
      await waitFor('pg_dump to run', () => pgDumpProcesses(source.name).length > 0 && partialFiles(w.backupDir).length > 0);
      const cancelledAt = Date.now();
      await handle.cancel();
      await waitFor('pg_dump to exit', () => pgDumpProcesses(source.name).length === 0, 5_000);
      expect(Date.now() - cancelledAt).toBeLessThan(5_000);

      const error = await handle.result().catch((err) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(error.cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(fs.readdirSync(w.backupDir)).toEqual([]);
    } finally {
      await lock.release();
      await w.stop();
    }
  });
});

describe('disk full', () => {
  let dir: string;
  let mounted = false;
  const older = 'faults_production_20240101_030000.sql.gz';

  beforeAll(() => {
    dir = tmpDir('tmpfs');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m,mode=0700', 'tmpfs', dir], { stdio: 'ignore' });
      mounted = true;
    } catch {
      mounted = false;
    }
    if (mounted) fs.writeFileSync(path.join(dir, older), 'an older backup that must survive\n', { mode: 0o600 });
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', [dir]);
  });

  it('fails with a clear message when the dump fills the disk, keeps older backups, alerts Slack', async (ctx) => {
    if (!mounted) ctx.skip(); // needs root to mount a tmpfs
    const before = slack.received.length;
    // Factor 0.01 lets the dump start, so it really runs into the full disk.
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: dir, SLACK_WEBHOOK_URL: slack.url, BACKUP_FREE_SPACE_FACTOR: '0.01' });
    try {
      const error = await (await startBackup(w, 'production')).result().catch((err) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(error.cause.cause.message).toMatch(new RegExp(`^no space left on device in ${dir}: .*No space left on device`, 's'));
      expect(fs.readdirSync(dir)).toEqual([older]);
      expect(fs.readFileSync(path.join(dir, older), 'utf8')).toBe('an older backup that must survive\n');
      const alert = slack.received.slice(before).map((r) => r.json.text ?? '');
      expect(alert).toHaveLength(1);
      expect(alert[0]).toMatch(/^🔴 Database backup failed\n• Environment: production\n• Error: no space left on device in /);
    } finally {
      await w.stop();
    }
  });

  it('refuses up front when free space is below the database size', async (ctx) => {
    if (!mounted) ctx.skip();
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: dir });
    try {
      const handle = await startBackup(w, 'production');
      const error = await handle.result().catch((err) => err);
      expect(error.cause.cause.message).toMatch(
        new RegExp(`^not enough free space in ${dir}: .* free, the database ${source.name} is .*BACKUP_FREE_SPACE_FACTOR=1`),
      );
      expect(error.cause.cause.nonRetryable).toBe(true);
      expect(pgDumpProcesses(source.name)).toEqual([]);
      expect(fs.readdirSync(dir)).toEqual([older]);
    } finally {
      await w.stop();
    }
  });
});

describe('server newer than pg_dump', () => {
  it('fails at once, naming both versions', async () => {
    const dir = tmpDir('fake-pgdump');
    const fake = path.join(dir, 'pg_dump');
    fs.writeFileSync(
      fake,
      '#!/bin/sh\necho "pg_dump: error: aborting because of server version mismatch" >&2\necho "pg_dump: detail: server version: 17.2; pg_dump version: 15.18 (Debian 15.18-0+deb12u1)" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_PG_DUMP: fake });
    try {
      const handle = await startBackup(w, 'production');
      const error = await handle.result().catch((err) => err);
      expect(error.cause.cause.message).toBe(
        "pg_dump 15.18 is older than the PostgreSQL server 17.2: install a pg_dump whose major version is at least the server's and point BACKUP_PG_DUMP at it",
      );
      expect(error.cause.cause.nonRetryable).toBe(true);
      expect(attemptsOf(await handle.fetchHistory(), 'dump')).toBe(1);
      expect(fs.readdirSync(w.backupDir)).toEqual([]);
    } finally {
      await w.stop();
    }
  });
});

describe('bad configuration and input', () => {
  const SECRET = 'Sup3r$ecret#pw';

  it('a malformed DATABASE_URL stops the worker at start with a message naming it, exit code 2', async () => {
    const { code, output } = await runWorkerProcess({ DATABASE_URL: `postgres:/user:${SECRET}@host/db`, TEMPORAL_ADDRESS: inject('temporalAddress') });
    expect(code).toBe(2);
    expect(output).toContain('configuration error: DATABASE_URL: must be a URI starting with postgresql://');
    expect(output).not.toContain(SECRET);
  });

  it.each([
    [
      'an unknown host',
      () => `postgresql://postgres:${encodeURIComponent(SECRET)}@no-such-host.invalid:5432/db`,
      /could not translate host name "no-such-host\.invalid"/,
    ],
    [
      'a wrong password',
      () => `postgresql://postgres:${encodeURIComponent(SECRET)}@127.0.0.1:${inject('pgPort')}/postgres`,
      /password authentication failed for user "postgres"/,
    ],
    ['a missing database', () => withDatabase(inject('pgAdminUrl'), 'does_not_exist'), /database "does_not_exist" does not exist/],
  ])('%s gives one clear, secret-free, non-retryable failure', async (_what, url, pattern) => {
    const before = slack.received.length;
    const w = await startTestWorker({ DATABASE_URL: url(), SLACK_WEBHOOK_URL: slack.url });
    try {
      const handle = await startBackup(w, 'production');
      const error = await handle.result().catch((err) => err);
      expect(error.cause.cause.message).toMatch(pattern);
      expect(error.cause.cause.nonRetryable).toBe(true);
      const history = await handle.fetchHistory();
      const everything = JSON.stringify(history) + JSON.stringify(slack.received.slice(before)) + String(error.cause.cause.message);
      for (const secret of [SECRET, encodeURIComponent(SECRET), inject('pgAdminUrl')]) expect(everything).not.toContain(secret);
      expect(attemptsOf(history, 'dump')).toBe(1);
      expect(attemptsOf(history, 'notify')).toBe(1);
      expect(fs.readdirSync(w.backupDir)).toEqual([]);
    } finally {
      await w.stop();
    }
  });

  it('an unusable BACKUP_DIR fails clearly and non-retryably', async () => {
    const parentIsAFile = path.join(tmpDir('notdir'), 'file');
    fs.writeFileSync(parentIsAFile, '');
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: path.join(parentIsAFile, 'backups') });
    try {
      const error = await (await startBackup(w, 'production')).result().catch((err) => err);
      expect(error.cause.cause.message).toBe(
        `backup directory ${path.join(parentIsAFile, 'backups')} is not usable: ENOTDIR (check BACKUP_DIR and its permissions)`,
      );
      expect(error.cause.cause.nonRetryable).toBe(true);
    } finally {
      await w.stop();
    }
  });
});

describe('overlap', () => {
  it('a schedule trigger while a run of that schedule is still going is skipped', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url });
    const scheduleConfig = loadScheduleConfig({ BACKUP_SCHEDULE_ID: `overlap-${randomUUID().slice(0, 8)}`, BACKUP_TASK_QUEUE: w.config.taskQueue });
    const lock = await lockTable(source.url, 'orders');
    try {
      const [scheduleId] = await upsertBackupSchedules(w.client, scheduleConfig);
      await triggerBackupSchedules(w.client, scheduleConfig);
      await waitFor('the first run to be dumping', () => dumpsInProgress(w.backupDir).length === 1);
      await triggerBackupSchedules(w.client, scheduleConfig); // while the first is still running
      const description = await waitFor('the skip to be counted', async () => {
        const d = await w.client.schedule.getHandle(scheduleId).describe();
        return d.info.numActionsSkippedOverlap > 0 && d;
      });
      expect(description.info.recentActions).toHaveLength(1);
      await lock.release();
      const run = description.info.recentActions[0].action.workflow;
      await w.client.workflow.getHandle(run.workflowId).result();
      expect(fs.readdirSync(w.backupDir).filter((f) => f.endsWith('.sql.gz'))).toHaveLength(1);
    } finally {
      await lock.release();
      await deleteBackupSchedules(w.client, scheduleConfig).catch(() => undefined);
      await w.stop();
    }
  });

  it('two runs of one label in the same second write two different files', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url });
    const lock = await lockTable(source.url, 'orders');
    try {
      // Same label, started together; retried until both start within one second.
      let handles;
      for (let i = 0; i < 5; i++) {
        handles = await Promise.all([startBackup(w, 'production'), startBackup(w, 'production')]);
        const starts = await Promise.all(handles.map(async (h) => Math.floor((await h.describe()).startTime.getTime() / 1000)));
        if (starts[0] === starts[1]) break;
        await Promise.all(handles.map((h) => h.cancel()));
        await Promise.all(handles.map((h) => h.result().catch(() => undefined)));
        handles = undefined;
      }
      expect(handles).toBeDefined();
      await waitFor('both dumps to run', () => dumpsInProgress(w.backupDir).length === 2);
      await lock.release();
      const results: BackupResult[] = await Promise.all(handles!.map((h) => h.result()));
      const names = results.map((r) => r.fileName).sort();
      expect(names[0]).not.toBe(names[1]);
      expect(names[1]).toBe(names[0].replace('.sql.gz', '_2.sql.gz'));
      for (const r of results) execFileSync('gzip', ['-t', r.filePath]);
    } finally {
      await lock.release();
      await w.stop();
    }
  });
});

describe('secrets', () => {
  const PASSWORD = `x@:/?#%'"$y`;

  it('a password with @:/?#%\'"$ works and is in no process command line while pg_dump runs', async () => {
    await sql(inject('pgAdminUrl'), `CREATE ROLE secret_user LOGIN PASSWORD ${pg.escapeLiteral(PASSWORD)} IN ROLE pg_read_all_data`);
    const admin = new URL(inject('pgAdminUrl'));
    const url = `postgresql://secret_user:${encodeURIComponent(PASSWORD)}@${admin.host}/${source.name}`;
    const w = await startTestWorker({ DATABASE_URL: url, BACKUP_VERIFY_DATABASE_URL: inject('pgAdminUrl') });
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await startBackup(w, 'production');
      const running = await waitFor('pg_dump to run', () => pgDumpProcesses('secret_user').at(0));
      expect(running.cmdline).toContain(`--dbname=postgresql://secret_user@${admin.host}/${source.name}`);
      const commandLines = allCommandLines();
      expect(commandLines).not.toContain(PASSWORD);
      expect(commandLines).not.toContain(encodeURIComponent(PASSWORD));
      await lock.release();
      const result: BackupResult = await handle.result();
      expect(result.sizeBytes).toBeGreaterThan(100_000);
    } finally {
      await lock.release();
      await w.stop();
    }
  });
});

describe('Slack outage and Temporal restart', () => {
  it('Slack answering 500: the backup succeeds and the result shows the notification failure', async () => {
    const broken = await startSlackReceiver();
    broken.status = 500;
    const w = await startTestWorker({ DATABASE_URL: source.url, SLACK_WEBHOOK_URL: broken.url });
    try {
      const result: BackupResult = await (await startBackup(w, 'production')).result();
      expect(fs.existsSync(result.filePath)).toBe(true);
      expect(result.notification).toEqual({ status: 'failed', error: 'Slack notification failed: An HTTP protocol error occurred: statusCode = 500' });
      expect(broken.received).toHaveLength(3); // notify used its three attempts
    } finally {
      await w.stop();
      await broken.close();
    }
  });

  it('a dev server restarted mid-run (same sqlite file) resumes the run to completion', async () => {
    const dbFilename = path.join(tmpDir('temporal-db'), 'temporal.db');
    let server = await startEmbeddedTemporal({ dbFilename });
    const port = Number(server.address.split(':')[1]);
    const w = await startTestWorker({ DATABASE_URL: source.url }, { address: server.address });
    const lock = await lockTable(source.url, 'orders');
    try {
      const handle = await startBackup(w, 'production');
      const workflowId = handle.workflowId;
      await waitFor('pg_dump to run', () => pgDumpProcesses(source.name).length > 0);
      await server.stop();
      server = await startEmbeddedTemporal({ dbFilename, port });
      await lock.release();
      const connection = await Connection.connect({ address: server.address });
      try {
        const result: BackupResult = await new Client({ connection }).workflow.getHandle(workflowId).result();
        execFileSync('gzip', ['-t', result.filePath]);
      } finally {
        await connection.close();
      }
    } finally {
      await lock.release();
      await w.stop();
      await server.stop();
    }
  });
});

describe('failures before the dump', () => {
  it('a counting session that cannot connect fails the attempt before pg_dump ever runs', async () => {
    const dir = tmpDir('nosession');
    // A pg_dump that leaves a mark when it is run at all.
    const mark = path.join(dir, 'pg_dump-ran');
    const wrapper = path.join(dir, 'pg_dump');
    fs.writeFileSync(wrapper, `#!/bin/sh\ntouch "${mark}"\nexec pg_dump "$@"\n`, { mode: 0o755 });
    const role = `nosession_${process.pid}`;
    await sql(inject('pgAdminUrl'), `CREATE ROLE ${role} LOGIN PASSWORD 'pw-${role}' CONNECTION LIMIT 0`);
    const url = new URL(source.url);
    url.username = role;
    url.password = `pw-${role}`;
    const w = await startTestWorker({ DATABASE_URL: url.toString(), BACKUP_PG_DUMP: wrapper, BACKUP_MAX_ATTEMPTS: '2', SLACK_WEBHOOK_URL: slack.url });
    try {
      const handle = await startBackup(w, 'production');
      const error = await handle.result().catch((err) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(String(error.cause?.cause?.message)).toMatch(/too many connections for role/);
      expect(fs.existsSync(mark)).toBe(false);
      expect(attemptsOf(await handle.fetchHistory(), 'dump')).toBe(2); // a connection limit may lift: retried, as a resource
    } finally {
      await w.stop();
      await sql(inject('pgAdminUrl'), `DROP ROLE ${role}`);
    }
  });

  it('a worker that cannot give a run its settings still sends the failure to Slack', async () => {
    // A worker on the backup queue without the backup steps (a misdeployed watchdog, say): resolveSettings is not there.
    const taskQueue = `nosettings-${randomUUID().slice(0, 8)}`;
    const config = loadWorkerConfig({ DATABASE_URL: source.url, SLACK_WEBHOOK_URL: slack.url, PATH: process.env.PATH });
    const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue,
      workflowBundle: { codePath: inject('workflowBundlePath') },
      activities: {
        notify: createSharedActivities(config).notify,
        resolveSettings: async () => {
          throw new Error('the settings are not there');
        },
      },
    });
    const running = worker.run();
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const before = slack.received.length;
      const handle = await new Client({ connection }).workflow.start('backupDatabase', {
        taskQueue,
        workflowId: `nosettings-${randomUUID()}`,
        args: ['production'],
      });
      const failure = await handle.result().catch((err) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const texts = slack.received.slice(before).map((r) => r.json.text ?? '');
      expect(texts).toHaveLength(1);
      expect(texts[0]).toBe("🔴 Database backup failed\n• Environment: production\n• Error: could not read the worker's settings: the settings are not there");
    } finally {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    }
  });
});
