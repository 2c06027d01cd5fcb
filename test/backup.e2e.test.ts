import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { withDatabase } from '../src/dev/postgres-cluster';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase, restoreWithPsql, sql, tableFingerprints } from './support/database';
import { startSlackReceiver, type SlackReceiver } from './support/slack-receiver';
import { attemptsOf } from './support/history';

// Everything the worker logs in this process, to prove no secret reaches the logs.
const workerLogs: LogEntry[] = [];
Runtime.install({ logger: new DefaultLogger('DEBUG', (entry) => workerLogs.push(entry)) });

const FILE_NAME = /^(.+)_production_(\d{8}_\d{6})\.sql\.gz$/;

let slack: SlackReceiver;
let source: { name: string; url: string };
let worker: TestWorker;

beforeAll(async () => {
  slack = await startSlackReceiver();
  source = await freshDemoDatabase('resee_prod'); // several tables, non-ASCII text, ~7 MB of SQL
  worker = await startTestWorker({ DATABASE_URL: source.url, SLACK_WEBHOOK_URL: slack.url, BACKUP_TIMEZONE: 'Asia/Seoul' });
});
afterAll(async () => {
  await worker?.stop();
  await slack?.close();
});

describe('a successful backup', () => {
  let result: BackupResult;
  let workflowId: string;

  beforeAll(async () => {
    const handle = await startBackup(worker, 'production');
    workflowId = handle.workflowId;
    result = await handle.result();
  });

  it('restores with gunzip -c | psql into identical table contents', async () => {
    const restoredUrl = await restoreWithPsql(result.filePath, `${source.name}_restored`);
    const [original, restored] = await Promise.all([tableFingerprints(source.url), tableFingerprints(restoredUrl)]);
    expect(Object.keys(original).sort()).toEqual(['customers', 'orders', 'reviews']);
    expect(restored).toEqual(original);
    const [{ n }] = await sql<{ n: string }>(restoredUrl, "SELECT count(*) AS n FROM customers WHERE name LIKE '김민준%'");
    expect(Number(n)).toBeGreaterThan(0);
  });

  it('names the file {db}_{env}_{YYYYMMDD_HHMMSS}.sql.gz in BACKUP_TIMEZONE, 0600, with a verifying .sha256 and nothing partial left', async () => {
    const match = FILE_NAME.exec(result.fileName);
    expect(match?.[1]).toBe(source.name);
    const handle = worker.client.workflow.getHandle(workflowId);
    const started = (await handle.describe()).startTime;
    const seoul = new Date(started.getTime() + 9 * 3600_000).toISOString(); // Asia/Seoul has no DST
    expect(match?.[2]).toBe(`${seoul.slice(0, 10).replace(/-/g, '')}_${seoul.slice(11, 19).replace(/:/g, '')}`);

    expect(result.filePath).toBe(path.join(worker.backupDir, result.fileName));
    expect(fs.statSync(result.filePath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(result.checksumPath).mode & 0o777).toBe(0o600);
    execFileSync('sha256sum', ['-c', path.basename(result.checksumPath)], { cwd: worker.backupDir });
    const roles = result.roles!;
    expect(roles.fileName).toBe(result.fileName.replace(/\.sql\.gz$/, '.roles.json'));
    expect(fs.readdirSync(worker.backupDir).sort()).toEqual([result.fileName, `${result.fileName}.sha256`, roles.fileName, `${roles.fileName}.sha256`].sort());
    execFileSync('sha256sum', ['-c', path.basename(roles.checksumPath)], { cwd: worker.backupDir });
    expect(fs.statSync(roles.path).mode & 0o777).toBe(0o600);
    expect(result.sizeBytes).toBe(fs.statSync(result.filePath).size);
    execFileSync('gzip', ['-t', result.filePath]);
  });

  it('returns environment, database, file, sizes, sha256, start time and duration', () => {
    expect(result).toMatchObject({
      environment: 'production',
      database: source.name,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: expect.stringMatching(/^\d+\.\d\d (KB|MB)$/),
      notification: { status: 'sent' },
      verification: { verified: true, tables: 3, rows: 42_000 }, // 2,000 customers + 20,000 orders + 20,000 reviews
    });
    expect(Date.parse(result.startedAt)).not.toBeNaN();
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('shows the steps in order in history, each with the configured retry policy and timeout', async () => {
    const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled.map((a) => a.activityType?.name)).toEqual(['dump', 'compress', 'verify', 'saveRoles', 'stat', 'prune', 'notify']);
    for (const a of scheduled) {
      expect(Number(a.startToCloseTimeout?.seconds)).toBe(60); // BACKUP_ACTIVITY_TIMEOUT=60s in the test worker
      expect(a.retryPolicy?.maximumAttempts).toBe(3);
      expect(Number(a.retryPolicy?.initialInterval?.seconds)).toBe(1); // BACKUP_RETRY_INTERVAL=1s
      expect(Number(a.retryPolicy?.maximumInterval?.seconds)).toBe(1);
      expect(a.retryPolicy?.backoffCoefficient).toBe(1);
    }
    // File steps ran on the worker's own queue; notify on the shared one.
    expect(scheduled.slice(0, 6).every((a) => a.taskQueue?.name === worker.config.hostTaskQueue)).toBe(true);
    expect(scheduled[6].taskQueue?.name).toBe(worker.config.taskQueue);
  });

  it('sent exactly the success message to Slack', () => {
    const texts = slack.received.map((r) => r.json.text);
    expect(texts).toContain(
      `✅ Database backup completed successfully\n• Environment: production\n• File: ${result.fileName}\n• Size: ${result.size}\n` +
        `• Verified: restored and compared, 3 tables and ${result.verification!.rows.toLocaleString('en-US')} rows match`,
    );
  });
});

describe('when the database is unreachable', () => {
  it('tries dump 3 times, sends the failure message, fails the run and leaves no file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-unreachable-'));
    const down = await startTestWorker({ DATABASE_URL: `postgresql://postgres:pw@127.0.0.1:1/nowhere`, SLACK_WEBHOOK_URL: slack.url, BACKUP_DIR: dir });
    const before = slack.received.length;
    try {
      const handle = await startBackup(down, 'production');
      const error = await handle.result().catch((err) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('FAILED');

      const history = await handle.fetchHistory();
      expect(attemptsOf(history, 'dump')).toBe(3);

      const failure = slack.received.slice(before).map((r) => r.json.text ?? '');
      expect(failure).toHaveLength(1);
      expect(failure[0]).toMatch(
        /^🔴 Database backup failed\n• Environment: production\n• Error: cannot connect to the database postgresql:\/\/postgres@127\.0\.0\.1:1\/nowhere: .*connection to server at "127\.0\.0\.1", port 1 failed/s,
      );
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await down.stop();
    }
  });
});

describe('when Slack is down', () => {
  it('still completes the backup and says the notification failed', async () => {
    const closed = await startSlackReceiver();
    await closed.close(); // nothing listens on this port any more
    const quiet = await startTestWorker({ DATABASE_URL: source.url, SLACK_WEBHOOK_URL: closed.url });
    try {
      const result: BackupResult = await (await startBackup(quiet, 'production')).result();
      expect(fs.existsSync(result.filePath)).toBe(true);
      expect(result.notification.status).toBe('failed');
      expect(result.notification.error).toMatch(/Slack notification failed/);
      expect(result.notification.error).not.toContain('XXXXSECRET'); // the webhook URL is a secret
    } finally {
      await quiet.stop();
    }
  });
});

describe('a password with special characters', () => {
  const PASSWORD = `Pa@:/?#%'"$ss w0rd&=`;

  it('works, and appears nowhere: history, worker logs, Slack payloads, pg_dump argv', async () => {
    await sql(inject('pgAdminUrl'), `CREATE ROLE special_user LOGIN PASSWORD ${pg.escapeLiteral(PASSWORD)}`);
    await sql(inject('pgAdminUrl'), `GRANT pg_read_all_data TO special_user`);
    const url = new URL(withDatabase(inject('pgAdminUrl'), source.name));
    const databaseUrl = `postgresql://special_user:${encodeURIComponent(PASSWORD)}@${url.host}${url.pathname}`;

    // A pg_dump wrapper that records the argv and environment it was given, then runs the real one.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-argv-'));
    const wrapper = path.join(dir, 'pg_dump');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$0" "$@" > "${dir}/argv"\ncat /proc/$$/cmdline | tr '\\0' ' ' >> "${dir}/argv"\n[ -n "$PGPASSWORD" ] && echo has-pgpassword > "${dir}/env"\nexec pg_dump "$@"\n`,
      { mode: 0o755 },
    );

    const before = slack.received.length;
    const logsBefore = workerLogs.length;
    const special = await startTestWorker({
      DATABASE_URL: databaseUrl,
      SLACK_WEBHOOK_URL: slack.url,
      BACKUP_PG_DUMP: wrapper,
      // A read-only role cannot create the scratch database: verification uses another role.
      BACKUP_VERIFY_DATABASE_URL: inject('pgAdminUrl'),
    });
    try {
      const handle = await startBackup(special, 'production');
      const result: BackupResult = await handle.result();
      expect(fs.statSync(result.filePath).size).toBeGreaterThan(100_000);

      const forms = [PASSWORD, encodeURIComponent(PASSWORD), 'Pa@:/?#'];
      const history = JSON.stringify(await handle.fetchHistory());
      const logs = JSON.stringify(workerLogs.slice(logsBefore), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
      expect(logs).toContain('pg_dump finished'); // the capture works
      const payloads = JSON.stringify(slack.received.slice(before));
      const argv = fs.readFileSync(path.join(dir, 'argv'), 'utf8');
      expect(argv).toContain('--dbname=postgresql://special_user@');
      expect(fs.readFileSync(path.join(dir, 'env'), 'utf8')).toContain('has-pgpassword');
      for (const form of forms) {
        expect(history).not.toContain(form);
        expect(logs).not.toContain(form);
        expect(payloads).not.toContain(form);
        expect(argv).not.toContain(form);
      }
    } finally {
      await special.stop();
    }
  });

  it('is redacted from pg_dump errors (wrong database)', async () => {
    const url = new URL(inject('pgAdminUrl'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-wrongdb-'));
    const bad = await startTestWorker({
      DATABASE_URL: `postgresql://special_user:${encodeURIComponent(PASSWORD)}@${url.host}/no_such_db`,
      SLACK_WEBHOOK_URL: slack.url,
      BACKUP_DIR: dir,
    });
    const before = slack.received.length;
    try {
      const handle = await startBackup(bad, 'production');
      const error = await handle.result().catch((err) => err);
      expect(String(error.cause?.cause?.message)).toMatch(/database "no_such_db" does not exist/);
      const events = await handle.fetchHistory();
      const history = JSON.stringify(events);
      // Non-retryable: a missing database is not worth three attempts.
      expect(attemptsOf(events, 'dump')).toBe(1);
      for (const text of [history, JSON.stringify(slack.received.slice(before))]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
      }
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await bad.stop();
    }
  });
});

describe('bad environment labels', () => {
  it.each(['../x', 'a/b', '', 'x'.repeat(65)])('rejects %j before touching any file', async (label) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-labels-'));
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: path.join(dir, 'backups') });
    try {
      const handle = await startBackup(w, label);
      const error = await handle.result().catch((err) => err);
      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(error.cause.message).toMatch(/invalid environment label .* use 1 to 64 characters from A-Z a-z 0-9 _ -/);
      expect(error.cause.nonRetryable).toBe(true);
      const history = await handle.fetchHistory();
      const types = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
      );
      expect(types).toEqual(['notify']);
      expect(fs.existsSync(path.join(dir, 'backups'))).toBe(false);
    } finally {
      await w.stop();
    }
  });
});
