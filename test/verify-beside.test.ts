import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeCompress } from '../src/activities/compress';
import { makeDump } from '../src/activities/dump';
import { makeVerify } from '../src/activities/verify';
import type { BackupResult, CompressOutput, DumpOutput, NothingFollowed, VerifyBesideOutput } from '../src/common/types';
import { loadWorkerConfig } from '../src/config';
import { startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase, sql, tableFingerprints } from './support/database';
import { waitFor } from './support/faults';
import { scheduledSteps } from './support/history';
import { withDatabase } from '../src/dev/postgres-cluster';

let tmp: string;
let source: { name: string; url: string };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-verify-beside-'));
  source = await freshDemoDatabase('vbeside', 20_000);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const scratchDatabases = async () =>
  (await sql<{ datname: string }>(inject('pgAdminUrl'), "SELECT datname FROM pg_database WHERE datname LIKE 'pgbw\\_verify\\_%'")).map((r) => r.datname);

/** A pg_dump stand-in: runs the real one inside `body` (a shell snippet where `$REAL` is pg_dump "$@"). */
function fakePgDump(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `#!/bin/sh\nREAL() { pg_dump "$@"; }\n${body.replaceAll('$REAL', 'REAL "$@"')}\n`, { mode: 0o755 });
  return file;
}

function activityConfig(dir: string, pgDump: string, env: Record<string, string> = {}) {
  return loadWorkerConfig({ DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_PG_DUMP: pgDump, PATH: process.env.PATH, ...env });
}

/** Three activity environments of one workflow run, as the worker gives a run's dump, compress and verify. */
function oneRun() {
  const workflowExecution = { workflowId: `wf-${randomUUID()}`, runId: randomUUID() };
  const env = () => new MockActivityEnvironment({ workflowExecution });
  return { dumpEnv: env(), compressEnv: env(), verifyEnv: env() };
}

/** A dump that pauses mid-stream and after its last byte, so compress and verify are caught up while it still runs. */
const slowPgDump = () => {
  const whole = path.join(tmp, `whole-${randomUUID()}.sql`);
  return fakePgDump(`slow-${randomUUID()}`, `$REAL > "${whole}" || exit 1\nhead -c 3000000 "${whole}"; sleep 1; tail -c +3000001 "${whole}"\nsleep 1`);
};

describe('verify beside compress (activities)', () => {
  it.each(['gzip', 'zstd'] as const)(
    '%s: restores the compressed file while it is written, and verifies the very file compress published',
    async (compression) => {
      const dir = fs.mkdtempSync(path.join(tmp, `live-${compression}-`));
      const config = activityConfig(dir, slowPgDump(), { BACKUP_COMPRESSION: compression });
      const { dumpEnv, compressEnv, verifyEnv } = oneRun();
      const beats: Array<{ bytes: number; total: number; compressing?: boolean }> = [];
      verifyEnv.on('heartbeat', (d) => beats.push(d));
      const scratchSeen: string[][] = [];
      const watching = setInterval(() => void scratchDatabases().then((d) => scratchSeen.push(d)), 100);

      const [dumped, compressed, verified] = await Promise.all([
        dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }) as Promise<DumpOutput>,
        compressEnv.run(makeCompress(config), { whileDumping: true as const }) as Promise<unknown> as Promise<CompressOutput>,
        verifyEnv.run(makeVerify(config), { environment: 'production', whileCompressing: true as const }) as Promise<unknown> as Promise<VerifyBesideOutput>,
      ]).finally(() => clearInterval(watching));

      expect(compressed.path).toBe(`${dumped.sqlPath}${compression === 'gzip' ? '.gz' : '.zst'}`);
      expect(verified).toEqual({ followed: true, path: compressed.path, verification: { verified: true, tables: 3, rows: 42_000 } });
      // It read while compress was still writing. (zstd -T0 hands out its first bytes after a whole
      // job, 8 MiB of input at level 3, more than this dump: there the restore reads at the end.)
      if (compression === 'gzip') expect(beats.some((b) => b.compressing === true && b.bytes > 0)).toBe(true);
      expect(beats.length).toBeGreaterThan(0);
      // The scratch database existed during the run, and is gone.
      expect(scratchSeen.some((d) => d.length > 0)).toBe(true);
      expect(await scratchDatabases()).toEqual([]);
      // sha256 and size from compress are those of the file on disk.
      expect(compressed.sha256).toBe(execFileSync('sha256sum', [compressed.path], { encoding: 'utf8' }).split(' ')[0]);
      expect(compressed.bytesOut).toBe(fs.statSync(compressed.path).size);
      const tool = compression === 'gzip' ? ['gzip', ['-t', compressed.path]] : ['zstd', ['-t', '-q', compressed.path]];
      execFileSync(tool[0] as string, tool[1] as string[]);
    },
  );

  it('stops and leaves nothing when the compress it follows fails (its dump attempt failed)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'failed-'));
    const pgDump = fakePgDump('failing-pg_dump', '$REAL | head -c 3000000\nsleep 1\necho "pg_dump: error: connection lost" >&2\nexit 1');
    const config = activityConfig(dir, pgDump);
    const { dumpEnv, compressEnv, verifyEnv } = oneRun();

    const [dumped, compressed, verified] = await Promise.all([
      dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }).catch((err: Error) => err),
      compressEnv.run(makeCompress(config), { whileDumping: true as const }),
      verifyEnv.run(makeVerify(config), { environment: 'production', whileCompressing: true as const }),
    ]);

    expect((dumped as Error).message).toMatch(/connection lost/);
    expect(compressed).toEqual<NothingFollowed>({ followed: false, reason: 'the dump attempt it followed failed' });
    expect(verified).toEqual<NothingFollowed>({ followed: false, reason: 'the compress attempt it followed failed' });
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('a verify that comes after its compress failed says so at once', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'late-'));
    const pgDump = fakePgDump('failing-fast-pg_dump', '$REAL | head -c 100000\necho "pg_dump: error: connection lost" >&2\nexit 1');
    const config = activityConfig(dir, pgDump);
    const { dumpEnv, compressEnv, verifyEnv } = oneRun();
    await Promise.all([
      dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }).catch(() => undefined),
      compressEnv.run(makeCompress(config), { whileDumping: true as const }),
    ]);
    const started = Date.now();
    const verified = await verifyEnv.run(makeVerify(config), { environment: 'production', whileCompressing: true as const });
    expect(verified).toMatchObject({ followed: false });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('hears a cancel at once mid-restore, and leaves no scratch database', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cancel-'));
    const config = activityConfig(dir, slowPgDump());
    const { dumpEnv, compressEnv, verifyEnv } = oneRun();
    let cancelledAt = 0;
    verifyEnv.on('heartbeat', (d: { bytes?: number }) => {
      if ((d.bytes ?? 0) > 0 && !cancelledAt) {
        cancelledAt = Date.now();
        verifyEnv.cancel();
      }
    });
    const [, , verified] = await Promise.all([
      dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }),
      compressEnv.run(makeCompress(config), { whileDumping: true as const }),
      verifyEnv.run(makeVerify(config), { environment: 'production', whileCompressing: true as const }).catch((err: unknown) => err),
    ]);
    expect(verified).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    expect(await scratchDatabases()).toEqual([]);
  });
});

describe('verify beside compress (workflow on a real Temporal server)', () => {
  it('runs dump, compress and verify at once; the run is verified by the restore that followed compress', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_PG_DUMP: slowPgDump() });
    try {
      const handle = await startBackup(w, 'production');
      await waitFor(
        'verify to restore while dump and compress still run',
        async () => {
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          const verify = pending.find((a) => a.activityType?.name === 'verify');
          const details = verify?.heartbeatDetails?.payloads?.map((p) => defaultPayloadConverter.fromPayload(p) as { bytes?: number; compressing?: boolean });
          return pending.some((a) => a.activityType?.name === 'dump') && details?.some((d) => d.compressing && (d.bytes ?? 0) > 0);
        },
        20_000,
      );
      const result: BackupResult = await handle.result();
      const history = await handle.fetchHistory();
      expect(scheduledSteps(history)).toEqual(['dump', 'compress', 'verify', 'saveRoles', 'stat', 'prune', 'notify']);
      expect(result.verification).toEqual({ verified: true, tables: 3, rows: 42_000 });
      expect(await scratchDatabases()).toEqual([]);
    } finally {
      await w.stop();
    }
  });

  it('with two slots per host, verifies after compress', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_HOST_CONCURRENCY: '2' });
    try {
      const handle = await startBackup(w, 'production');
      const result: BackupResult = await handle.result();
      const events = (await handle.fetchHistory()).events ?? [];
      const at = (type: string, what: 'scheduled' | 'completed') => {
        const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)!;
        if (what === 'scheduled') return Number(scheduled.eventId);
        return Number(events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId))!.eventId);
      };
      expect(at('verify', 'scheduled')).toBeGreaterThan(at('compress', 'completed'));
      expect(result.verification).toMatchObject({ verified: true, rows: 42_000 });
    } finally {
      await w.stop();
    }
  });

  it('zstd end to end: a .sql.zst, verified beside compress, that zstd -d | psql restores', async () => {
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_COMPRESSION: 'zstd' });
    try {
      const result: BackupResult = await (await startBackup(w, 'production')).result();
      expect(result.fileName).toMatch(/_production_\d{8}_\d{6}\.sql\.zst$/);
      expect(result.verification).toMatchObject({ verified: true, rows: 42_000 });
      expect(result.roles?.fileName).toMatch(/\.roles\.json$/);
      execFileSync('sha256sum', ['-c', `${result.fileName}.sha256`], { cwd: w.backupDir });
      const target = `${source.name}_zst`;
      await sql(inject('pgAdminUrl'), `CREATE DATABASE ${target}`);
      const url = withDatabase(inject('pgAdminUrl'), target);
      execFileSync('sh', ['-c', 'zstd -d -c -q "$1" | psql -q -v ON_ERROR_STOP=1 -X "$2" > /dev/null', 'restore', result.filePath, url]);
      expect(await tableFingerprints(url)).toEqual(await tableFingerprints(source.url));
    } finally {
      await w.stop();
    }
  });
});
