import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../src/dev/postgres-cluster';
import { sql } from './support/database';
import { spawnWorkerProcess } from './support/faults';
import { completedStep, historyStory } from './support/history';
import { BACKUP_MOMENTS, ZSTD_BACKUP_MOMENTS, leftovers, waitForMoment } from './support/run-moments';

/**
 * Cancel at any moment: a backup is cancelled at each recognisable moment of a whole run (before
 * the dump, while pg_dump writes, while compress follows, during verify, stat, after it), twice
 * each, on a database big enough that every step takes a while. Every time the run must end
 * Cancelled within CANCEL_BOUND_MS, with no child process, scratch database or session left,
 * and nothing of the run on disk but a backup that was already finished (verified and
 * checksummed) before the cancel came. Once more with zstd, whose program reads the dump itself.
 */
const CANCEL_BOUND_MS = 10_000;
const PASSES = 2;

const dbName = `sweep_${process.pid}`;
let url: string;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  const admin = inject('pgAdminUrl');
  await sql(admin, `CREATE DATABASE ${dbName}`);
  url = withDatabase(admin, dbName);
  // About 60 MB of plain dump: a few seconds per step on two cores, so each moment can be hit.
  await sql(
    url,
    `CREATE TABLE events (id bigint PRIMARY KEY, kind text, payload text);
     INSERT INTO events SELECT i, (ARRAY['order','refund','login'])[1 + i % 3], repeat(md5(i::text), 3) FROM generate_series(1, 500000) i;
     CREATE TABLE notes AS SELECT i AS id, md5(i::text) AS body FROM generate_series(1, 100000) i;`,
  );
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
}, 300_000);

afterAll(async () => {
  await connection?.close();
});

let runs = 0;

/** gzip, the default, twice over; zstd once, with its own moments (the zstd program reading the dump itself). */
const SWEEPS = [
  { compression: 'gzip', passes: PASSES, moments: BACKUP_MOMENTS },
  { compression: 'zstd', passes: 1, moments: ZSTD_BACKUP_MOMENTS },
] as const;

describe.each(SWEEPS)('a run cancelled at any moment ($compression)', ({ compression, passes, moments }) => {
  let dir: string;
  let worker: Awaited<ReturnType<typeof spawnWorkerProcess>>;
  const taskQueue = `sweep-${compression}-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgbw-sweep-${compression}-`));
    worker = await spawnWorkerProcess({
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BACKUP_DIR: dir,
      BACKUP_TASK_QUEUE: taskQueue,
      BACKUP_COMPRESSION: compression,
      BACKUP_RETRY_INTERVAL: '1s',
      BACKUP_ACTIVITY_TIMEOUT: '120s',
      BACKUP_KEEP_LAST: '100',
    });
  }, 300_000);

  afterAll(() => {
    worker?.child.kill('SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases = Array.from({ length: passes }, (_, pass) => moments.map((moment) => ({ pass: pass + 1, moment }))).flat();

  it.each(cases)('$moment.name (pass $pass): ends Cancelled, leaves nothing behind', async ({ moment }) => {
    const label = `c${++runs}`;
    const startedAt = Date.now();
    const handle = await client.workflow.start('backupDatabase', { taskQueue, workflowId: `sweep-${label}-${randomUUID()}`, args: [label] });
    const prefix = `${dbName}_${label}_`;
    const reached = await waitForMoment(handle, { dir, workerPid: worker.child.pid!, startedAt, prefix }, moment);

    const cancelledAt = Date.now();
    await handle.cancel();
    const outcome = await handle.result().then(
      () => 'completed' as const,
      (err) => (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure ? ('cancelled' as const) : err),
    );
    const closedAfterMs = Date.now() - cancelledAt;
    if (outcome instanceof Error) throw outcome;
    // A run can finish (after stat: copies, prune, notify are quick) before the request reaches it;
    // so can one whose step ended within the moment's wait. Cancelled is required whenever the
    // request was sent while the run was seen inside the moment.
    if (reached?.stillThere) expect(outcome === 'cancelled' || moment.name === 'after stat').toBe(true);
    expect(closedAfterMs).toBeLessThan(CANCEL_BOUND_MS);

    const left = await leftovers({ dir, prefix, workerPid: worker.child.pid!, adminUrl: inject('pgAdminUrl') });
    expect(left.processes.map((p) => `${p.pid} ${p.comm}`)).toEqual([]);
    expect(left.scratchDatabases).toEqual([]);
    expect(left.sessions).toEqual([]);
    // What the run did, shown when a file assertion fails: whether its cleanup ran, and how it ended.
    const history = await handle.fetchHistory();
    const story = `history:\n${historyStory(history)}`;
    const finished = left.files.filter((f) => /\.sql\.(gz|zst)$/.test(f));
    const roles = finished.map((f) => f.replace(/\.sql\.(gz|zst)$/, '.roles.json'));
    if (finished.length === 0) {
      expect(left.files, story).toEqual([]);
    } else {
      // Only a backup that was finished before the cancel: verified (stat runs after verify), checksummed, with its roles sidecar.
      expect(left.files.sort(), story).toEqual([finished[0], `${finished[0]}.sha256`, roles[0], `${roles[0]}.sha256`].sort());
      expect(completedStep(history, 'stat')).toBe(true);
    }
  });
});
