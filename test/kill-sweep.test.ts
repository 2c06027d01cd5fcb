import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { withDatabase } from '../src/dev/postgres-cluster';
import { sql } from './support/database';
import { spawnWorkerProcess } from './support/faults';
import { backupFiles } from './support/backup-worker';
import { leftUnfinishedOn, taskQueueOf } from './support/history';
import { descendantsOf } from './support/process-tree';
import { BACKUP_MOMENTS, waitForMoment } from './support/run-moments';

/**
 * Crashes at many moments: two worker processes serve one queue; at each moment the worker
 * running the backup's file steps is SIGKILLed. The run must finish on the other worker with a
 * good file, and once it has, nothing of the lost execution may remain: no partial or plain
 * file, no record, no scratch database, no process.
 */
// (Not `stat`: it no longer reads the file, so it ends before a kill can land in it.)
const MOMENTS = ['pg_dump writing, a second in', 'verify restoring beside compress', 'compress finishing', 'verify restoring', 'compressed, verify finishing'];

const dbName = `kills_${process.pid}`;
type WorkerProcess = Awaited<ReturnType<typeof spawnWorkerProcess>>;
let dir: string;
let env: Record<string, string>;
let workers: WorkerProcess[] = [];
let client: Client;
let connection: Connection;

beforeAll(async () => {
  const admin = inject('pgAdminUrl');
  await sql(admin, `CREATE DATABASE ${dbName}`);
  const url = withDatabase(admin, dbName);
  await sql(
    url,
    `CREATE TABLE events (id bigint PRIMARY KEY, payload text);
     INSERT INTO events SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 400000) i;`,
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-kills-'));
  env = {
    DATABASE_URL: url,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    BACKUP_DIR: dir,
    BACKUP_TASK_QUEUE: `kills-${randomUUID().slice(0, 8)}`,
    // A dead host is noticed within seconds: its steps miss their heartbeat, its queue's next step cannot start.
    BACKUP_HEARTBEAT_TIMEOUT: '2s',
    BACKUP_RETRY_INTERVAL: '1s',
    BACKUP_ACTIVITY_TIMEOUT: '120s',
    BACKUP_KEEP_LAST: '100',
  };
  workers = await Promise.all([spawnWorkerProcess(env), spawnWorkerProcess(env)]);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
}, 300_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await connection?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a worker killed at any moment of a backup', () => {
  it.each(MOMENTS)('%s: the run finishes on the other worker and leaves nothing of the lost execution', async (name) => {
    const moment = BACKUP_MOMENTS.find((m) => m.name === name)!;
    const label = `k${workers.length}${randomUUID().slice(0, 4)}`;
    const prefix = `${dbName}_${label}_`;
    const startedAt = Date.now();
    const handle = await client.workflow.start('backupDatabase', { taskQueue: env.BACKUP_TASK_QUEUE, workflowId: `kills-${label}`, args: [label] });
    // The worker that runs the file steps: the one whose process tree has them.
    const host = await waitForHost(handle, prefix);
    await waitForMoment(handle, { dir, workerPid: host.child.pid!, startedAt, prefix }, moment);
    const children = descendantsOf(host.child.pid!).filter((p) => p.comm !== 'esbuild');
    host.child.kill('SIGKILL');
    workers = workers.filter((w) => w !== host);
    const replacement = spawnWorkerProcess(env); // back to two for the next case, meanwhile

    // Its pg_dump and psql die with it (their death signal).
    await waitUntil(() => children.every((p) => !fs.existsSync(`/proc/${p.pid}`)), 10_000);
    const result: BackupResult = await handle.result();
    execFileSync('gzip', ['-t', result.filePath]);
    workers.push(await replacement);

    const files = fs.readdirSync(dir).filter((f) => f.startsWith(prefix));
    expect(files.sort()).toEqual(backupFiles(result));
    const scratch = await sql<{ datname: string }>(inject('pgAdminUrl'), "SELECT datname FROM pg_database WHERE datname LIKE 'pgbw\\_verify\\_%'");
    expect(scratch).toEqual([]);
    // The run moved, and says so, when the dead host still had a step to do; a kill right after
    // its last host step (prune) leaves only notify, which any worker serves.
    const history = await handle.fetchHistory();
    const lostQueue = taskQueueOf(history, 'dump')!;
    expect(lostQueue).toContain('@');
    expect((await handle.describe()).memo?.lostTaskQueues ?? []).toEqual(leftUnfinishedOn(history, lostQueue) ? [lostQueue] : []);
  });
});

/** The worker process whose children write this run's files. */
async function waitForHost(handle: Awaited<ReturnType<Client['workflow']['start']>>, prefix: string): Promise<WorkerProcess> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const identity = pending.find((p) => p.lastWorkerIdentity)?.lastWorkerIdentity;
    const pid = identity ? Number(identity.split('@')[0]) : NaN;
    const host = workers.find((w) => w.child.pid === pid);
    if (host && fs.readdirSync(dir).some((f) => f.startsWith(prefix))) return host;
    if (Date.now() > deadline) throw new Error('no worker took the run');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitUntil(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
