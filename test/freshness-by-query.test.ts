import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeFindLastBackups } from '../src/activities/freshness-lookup';
import { BACKUP_ENVIRONMENT } from '../src/common/search-attributes';
import { waitFor } from './support/faults';

/** More completed runs of one label than one visibility page holds (the memo listing pages through 500 at a time). */
const RUNS = 520;

/**
 * The freshness check asks for the newest completed run of each label directly, so it is exact
 * at any number of runs: here, hundreds of completed stand-in runs, and the newest by close time
 * is the one that started first.
 */
describe('the freshness lookup by query, on a real Temporal server', () => {
  let connection: Connection;
  let native: NativeConnection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `stand-in-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
    native = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: path.join(__dirname, 'support', 'stand-in', 'workflows.ts'),
      maxConcurrentWorkflowTaskExecutions: 20,
    });
    running = worker.run();
  });
  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await native?.close();
    await connection?.close();
  });

  /** A completed stand-in run: tagged like a run of this version, or with only the memo older runs have. */
  function start(label: string, how: { tagged: boolean; untilSignalled?: boolean }) {
    return client.workflow.start('backupDatabase', {
      taskQueue,
      workflowId: `stand-in-${label}-${randomUUID()}`,
      args: [label, { untilSignalled: how.untilSignalled }],
      ...(how.tagged ? { typedSearchAttributes: [{ key: BACKUP_ENVIRONMENT, value: label }] } : { memo: { environment: label } }),
    });
  }

  it(`finds the newest of ${RUNS} completed runs of a label, the one that started first, and none for a label without runs`, async () => {
    const label = `many-${randomUUID().slice(0, 8)}`;
    const other = `other-${randomUUID().slice(0, 8)}`;
    const never = `never-${randomUUID().slice(0, 8)}`;
    // Started first, completes last: the newest by close time, the oldest by start.
    const slow = await start(label, { tagged: true, untilSignalled: true });
    // An older run from before the attributes: found by memo, but older than the tagged ones.
    await (await start(label, { tagged: false })).result();
    for (let i = 0; i < RUNS; i += 40) {
      const batch = await Promise.all(Array.from({ length: Math.min(40, RUNS - i) }, () => start(label, { tagged: true })));
      await Promise.all(batch.map((h) => h.result()));
    }
    await slow.signal('finish');
    await slow.result();
    // Another label's run completes after it: the query is per label.
    await (await start(other, { tagged: true })).result();
    await waitFor(
      'visibility to list every run',
      async () => (await client.workflow.count(`${BACKUP_ENVIRONMENT.name} = '${label}' AND ExecutionStatus = 'Completed'`)).count === RUNS + 1,
      120_000,
    );

    const found = await makeFindLastBackups(client)({ environments: [label, never], lookbackMs: 3_600_000 });
    expect(found[never]).toBeNull();
    expect(found[label]).toMatchObject({ workflowId: slow.workflowId, runId: slow.firstExecutionRunId, fileName: `${label}_${slow.workflowId}.sql.gz` });
    const closed = (await slow.describe()).closeTime!;
    expect(Date.parse(found[label]!.closedAt)).toBe(closed.getTime());
  });

  it('takes a newer run without the attribute (a worker that found the attributes missing) over older tagged ones', async () => {
    const label = `mixed-${randomUUID().slice(0, 8)}`;
    await (await start(label, { tagged: true })).result();
    const untagged = await start(label, { tagged: false });
    await untagged.result();
    await waitFor(
      'visibility to list both',
      async () => (await client.workflow.count(`WorkflowId STARTS_WITH 'stand-in-${label}-' AND ExecutionStatus = 'Completed'`)).count === 2,
    );
    expect((await makeFindLastBackups(client)({ environments: [label], lookbackMs: 3_600_000 }))[label]).toMatchObject({ workflowId: untagged.workflowId });
  });
});
