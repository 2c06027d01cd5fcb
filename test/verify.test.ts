import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeVerify } from '../src/activities/verify';
import type { BackupResult } from '../src/common/types';
import { loadWorkerConfig } from '../src/config';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase, sql } from './support/database';
import { lockTable, partialFiles, waitFor } from './support/faults';
import { startSlackReceiver, type SlackReceiver } from './support/slack-receiver';

let source: { name: string; url: string };
let worker: TestWorker;
let slack: SlackReceiver;

const scratchDatabases = async () =>
  (await sql<{ datname: string }>(inject('pgAdminUrl'), "SELECT datname FROM pg_database WHERE datname LIKE 'pgbw\\_verify\\_%'")).map((r) => r.datname);

beforeAll(async () => {
  source = await freshDemoDatabase('verify');
  slack = await startSlackReceiver();
  worker = await startTestWorker({ DATABASE_URL: source.url, SLACK_WEBHOOK_URL: slack.url });
});
afterAll(async () => {
  await worker?.stop();
  await slack?.close();
});

describe('restore verification', () => {
  it('compares with the source exactly as dumped, even while writes go on, and drops its scratch database', async () => {
    const lock = await lockTable(source.url, 'orders');
    let result: BackupResult;
    try {
      const handle = await startBackup(worker, 'production');
      await waitFor('pg_dump to hold its snapshot', () => partialFiles(worker.backupDir).length > 0);
      await new Promise((r) => setTimeout(r, 300));
      // Written after the snapshot: neither in the dump nor in the counts it is compared with.
      await sql(source.url, "INSERT INTO customers (name) SELECT 'late ' || i FROM generate_series(1, 500) i");
      await lock.release();
      result = await handle.result();
    } finally {
      await lock.release();
    }
    expect(result.verification).toEqual({ verified: true, tables: 3, rows: 42_000 });
    const [{ n }] = await sql<{ n: string }>(source.url, 'SELECT count(*) AS n FROM customers');
    expect(Number(n)).toBe(2_500); // the live table moved on; the backup is the consistent snapshot
    expect(await scratchDatabases()).toEqual([]);
    const text = slack.received.at(-1)?.json.text ?? '';
    expect(text).toContain('• Verified: restored and compared, 3 tables and 42,000 rows match');
  });

  describe('on the activity itself', () => {
    let gzFile: string;
    const config = () => loadWorkerConfig({ DATABASE_URL: source.url, PATH: process.env.PATH });
    const counts = { 'public.customers': 2_500, 'public.orders': 20_000, 'public.reviews': 20_000 };

    beforeAll(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-verify-'));
      gzFile = path.join(dir, 'verify_production_20251020_030000.sql.gz');
      execFileSync('sh', ['-c', 'pg_dump --no-password "$1" | gzip > "$2"', 'dump', source.url, gzFile]);
    });

    it('passes on an intact file with matching counts', async () => {
      const result = await new MockActivityEnvironment().run(makeVerify(config()), { environment: 'production', path: gzFile, rowCounts: counts });
      expect(result).toEqual({ verified: true, tables: 3, rows: 42_500 });
    });

    it('fails loudly, non-retryably, when the counts differ', async () => {
      const error: ApplicationFailure = await new MockActivityEnvironment()
        .run(makeVerify(config()), { environment: 'production', path: gzFile, rowCounts: { ...counts, 'public.orders': 19_999 } })
        .then(
          () => undefined as never,
          (err: ApplicationFailure) => err,
        );
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error.nonRetryable).toBe(true);
      expect(error.message).toBe('verification failed: the restored backup differs from the source: public.orders: 19999 rows in the source, 20000 restored');
      expect(await scratchDatabases()).toEqual([]);
    });

    it('fails on a file truncated on disk', async () => {
      const truncated = gzFile.replace('.sql.gz', '_truncated.sql.gz');
      const bytes = fs.readFileSync(gzFile);
      fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const error: ApplicationFailure = await new MockActivityEnvironment()
        .run(makeVerify(config()), { environment: 'production', path: truncated, rowCounts: counts })
        .then(
          () => undefined as never,
          (err: ApplicationFailure) => err,
        );
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error.nonRetryable).toBe(true);
      expect(error.message).toMatch(/^verification failed: (the backup file is corrupt or truncated: unexpected end of file|restoring the backup failed)/);
      expect(await scratchDatabases()).toEqual([]);
    });
  });

  it('BACKUP_VERIFY=false leaves the step out', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_VERIFY: 'false' });
    try {
      const handle = await startBackup(w, 'production');
      const result: BackupResult = await handle.result();
      expect(result.verification).toBeUndefined();
      const history = await handle.fetchHistory();
      const steps = (history.events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
      );
      expect(steps).toEqual(['dump', 'compress', 'saveRoles', 'stat', 'prune', 'notify']);
    } finally {
      await w.stop();
    }
  });
});
