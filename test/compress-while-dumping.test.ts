import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeCompress } from '../src/activities/compress';
import { makeDump } from '../src/activities/dump';
import { WriterFailed, followFile } from '../src/files/follow-file';
import { loadWorkerConfig } from '../src/config';
import type { BackupResult, CompressOutput, DumpOutput, NothingFollowed } from '../src/common/types';
import { startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase, restoreWithPsql, tableFingerprints } from './support/database';
import { waitFor } from './support/faults';
import { scheduledSteps } from './support/history';

let tmp: string;
let source: { name: string; url: string };

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-follow-'));
  source = await freshDemoDatabase('follow', 20_000);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A pg_dump stand-in: runs the real one inside `body` (a shell snippet where `$REAL` is pg_dump "$@"). */
function fakePgDump(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `#!/bin/sh\nREAL() { pg_dump "$@"; }\n${body.replaceAll('$REAL', 'REAL "$@"')}\n`, { mode: 0o755 });
  return file;
}

function activityConfig(dir: string, pgDump: string) {
  return loadWorkerConfig({ DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_PG_DUMP: pgDump, BACKUP_VERIFY: 'false', PATH: process.env.PATH });
}

/** Two activity environments of one workflow run, as the worker gives a run's dump and compress. */
function oneRun() {
  const workflowExecution = { workflowId: `wf-${randomUUID()}`, runId: randomUUID() };
  return { dumpEnv: new MockActivityEnvironment({ workflowExecution }), compressEnv: new MockActivityEnvironment({ workflowExecution }) };
}

describe('followFile', () => {
  it('reads a file while it is written, in trickles and in bursts, byte for byte to its end; a failed writer ends it', async () => {
    const file = path.join(tmp, 'growing.bin');
    const handle = await fs.promises.open(file, 'w+');
    let state: 'writing' | 'complete' | 'failed' = 'writing';
    const written: Buffer[] = [];
    const writer = (async () => {
      // Trickles (copied out, the read buffer reused) and bursts larger than a read (handed on).
      for (const size of [1, 100, 3000, 70_000, 5, 200_000, 64 * 1024, 17, 150_000]) {
        const piece = randomBytes(size);
        written.push(piece);
        await handle.write(piece);
        await new Promise((r) => setTimeout(r, 5));
      }
      state = 'complete';
    })();
    const chunks: Buffer[] = [];
    const reader = await fs.promises.open(file, 'r');
    for await (const chunk of followFile(reader, { state: () => state, chunkSize: 64 * 1024, pollMs: 2, signal: new AbortController().signal })) {
      chunks.push(chunk); // kept while the next is read: no chunk may be overwritten later
    }
    await writer;
    expect(Buffer.concat(chunks).equals(Buffer.concat(written))).toBe(true);

    state = 'failed';
    const again = followFile(reader, { state: () => state, chunkSize: 64 * 1024, pollMs: 2, signal: new AbortController().signal });
    await expect(again.next()).rejects.toBeInstanceOf(WriterFailed);
    await reader.close();
    await handle.close();
  });
});

describe('compress beside dump (activities)', () => {
  it('reads the dump while pg_dump still writes it, and the .sql.gz restores to the same tables', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'live-'));
    // Half a second's pause mid-stream and two seconds after the last byte: compress must be caught up before pg_dump ends.
    const whole = path.join(tmp, 'whole.sql');
    const pgDump = fakePgDump('slow-pg_dump', `$REAL > "${whole}" || exit 1\nhead -c 200000 "${whole}"; sleep 0.5; tail -c +200001 "${whole}"\nsleep 2`);
    const config = activityConfig(dir, pgDump);
    const { dumpEnv, compressEnv } = oneRun();
    const beats: Array<{ bytesIn: number; totalIn: number; dumping?: boolean }> = [];
    compressEnv.on('heartbeat', (d) => beats.push(d));

    const [dumped, compressed] = await Promise.all([
      dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }) as Promise<DumpOutput>,
      compressEnv.run(makeCompress(config), { whileDumping: true as const }),
    ]);

    expect(compressed).toMatchObject({ sqlPath: dumped.sqlPath, path: `${dumped.sqlPath}.gz`, bytesIn: dumped.bytes });
    // While pg_dump was still running, compress had already read everything it had written.
    expect(beats.some((b) => b.dumping === true && b.bytesIn > 200_000 && b.bytesIn === b.totalIn)).toBe(true);
    const out = compressed as CompressOutput;
    // The backup and the run's record of it (released once the backup is finished, by stat).
    expect(fs.readdirSync(dir).sort()).toEqual([out.fileName, `${path.basename(dumped.sqlPath, '.sql')}.owner`].sort());
    expect(fs.statSync(out.path).mode & 0o777).toBe(0o600);
    execFileSync('gzip', ['-t', out.path]);
    const restored = await restoreWithPsql(out.path, `${source.name}_followed`);
    expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
  });

  it('when the dump attempt fails mid-way, says it had nothing to follow and leaves no file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'failed-'));
    const pgDump = fakePgDump('failing-pg_dump', '$REAL | head -c 300000\nsleep 0.5\necho "pg_dump: error: connection lost" >&2\nexit 1');
    const config = activityConfig(dir, pgDump);
    const { dumpEnv, compressEnv } = oneRun();

    const [dumped, compressed] = await Promise.all([
      dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }).catch((err: Error) => err),
      compressEnv.run(makeCompress(config), { whileDumping: true as const }),
    ]);

    expect((dumped as Error).message).toMatch(/connection lost/);
    expect(compressed).toEqual<NothingFollowed>({ followed: false, reason: 'the dump attempt it followed failed' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('gives up when no dump of its run starts in time, and leaves no file', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'nodump-'));
    const started = Date.now();
    const out = await oneRun().compressEnv.run(makeCompress(activityConfig(dir, 'pg_dump'), { dumpStartWaitMs: 500 }), { whileDumping: true as const });
    expect(out).toEqual<NothingFollowed>({ followed: false, reason: 'the dump had not started after 0.5 s' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("never follows another run's dump", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'other-'));
    const config = activityConfig(dir, fakePgDump('slowish-pg_dump', '$REAL\nsleep 1'));
    const dumping = oneRun().dumpEnv.run(makeDump(config), { environment: 'production', timestamp: '20251020_030000', announce: true }) as Promise<DumpOutput>;
    const out = await oneRun().compressEnv.run(makeCompress(config, { dumpStartWaitMs: 500 }), { whileDumping: true as const });
    expect(out).toMatchObject({ followed: false });
    const dumped = await dumping;
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(dumped.sqlPath), `${path.basename(dumped.sqlPath, '.sql')}.owner`].sort());
  });
});

describe('compress beside dump (workflow on a real Temporal server)', () => {
  it('runs both steps at once: compress has caught up while pg_dump is still running', async () => {
    const pgDump = fakePgDump('wf-slow-pg_dump', '$REAL\nsleep 4');
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_PG_DUMP: pgDump });
    try {
      const handle = await startBackup(w, 'production');
      const seen = await waitFor(
        'compress to report progress while the dump is still running',
        async () => {
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          const compress = pending.find((a) => a.activityType?.name === 'compress');
          const details = compress?.heartbeatDetails?.payloads?.map((p) => defaultPayloadConverter.fromPayload(p) as { bytesIn?: number; dumping?: boolean });
          const caughtUp = details?.find((d) => d.dumping && (d.bytesIn ?? 0) > 0);
          return pending.some((a) => a.activityType?.name === 'dump') && caughtUp;
        },
        15_000,
      );
      expect(seen).toMatchObject({ step: 'compress', dumping: true });

      const result: BackupResult = await handle.result();
      expect(scheduledSteps(await handle.fetchHistory())).toEqual(['dump', 'compress', 'verify', 'saveRoles', 'stat', 'prune', 'notify']);
      const restored = await restoreWithPsql(result.filePath, `${source.name}_wf_followed`);
      expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
    } finally {
      await w.stop();
    }
  });

  it("after a failed first dump attempt, compresses the retry's file once the dump succeeds", async () => {
    const marker = path.join(tmp, `attempt-${randomUUID()}`);
    // First attempt: some output, then failure. Later attempts: the real dump.
    const pgDump = fakePgDump(
      'wf-flaky-pg_dump',
      `if [ ! -e "${marker}" ]; then touch "${marker}"; $REAL | head -c 300000; echo "pg_dump: error: server closed the connection" >&2; exit 1; fi\n$REAL`,
    );
    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_PG_DUMP: pgDump });
    try {
      const handle = await startBackup(w, 'production');
      const result: BackupResult = await handle.result();
      const history = await handle.fetchHistory();
      // The verify beside compress had nothing to follow either: it verifies the retry's file after compress.
      expect(scheduledSteps(history)).toEqual(['dump', 'compress', 'verify', 'compress', 'verify', 'saveRoles', 'stat', 'prune', 'notify']);
      const firstCompressId = (history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'compress')!.eventId;
      const firstCompress = (history.events ?? []).find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(firstCompressId));
      const followed = defaultPayloadConverter.fromPayload(firstCompress!.activityTaskCompletedEventAttributes!.result!.payloads![0]);
      expect(followed).toEqual({ followed: false, reason: 'the dump attempt it followed failed' });
      expect(fs.readdirSync(w.backupDir).sort()).toEqual(
        [result.fileName, `${result.fileName}.sha256`, result.roles!.fileName, `${result.roles!.fileName}.sha256`].sort(),
      );
      const restored = await restoreWithPsql(result.filePath, `${source.name}_wf_retried`);
      expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
    } finally {
      await w.stop();
    }
  });
});

describe('runs recorded before compress ran beside dump', () => {
  it('replay unchanged through the current workflow code (their recorded settings lack compressWhileDumping)', async () => {
    // Recorded with the code of commit 58b3a88 (dump, then compress): a real run, no secret in it.
    // The `temporal workflow show --output json` form, which the SDK reads as it is.
    const history = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/backup-history-before-overlap.json'), 'utf8'));
    expect(scheduledSteps(history)).toEqual(['dump', 'compress', 'verify', 'stat', 'prune', 'notify']);
    // Throws DeterminismViolationError if the new code would issue other commands for this history.
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, 'recorded-sequential-backup');
  });
});

describe('runs recorded with search attributes, step summaries and progress signals', () => {
  it('replay unchanged through the current workflow code', async () => {
    // `temporal workflow show --output json` of a real run: upserts behind their patch, activity summaries, progress signals.
    const history = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/backup-history-observable.json'), 'utf8'));
    const types = (history.events as Array<{ eventType: string }>).map((e) => e.eventType);
    expect(types).toContain('EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES');
    expect(types).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, 'recorded-observable-backup');
  });
});
