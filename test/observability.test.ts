import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { makeFindLastBackups } from '../src/activities/freshness-lookup';
import { BACKUP_DATABASE, BACKUP_ENVIRONMENT, BACKUP_SIZE_BYTES, BACKUP_TRIGGER, BACKUP_VERIFIED } from '../src/common/search-attributes';
import { loadScheduleConfig } from '../src/config/schedule';
import { applyBackupSchedules } from '../src/schedule/manage';
import { backupNow } from '../src/schedule/run-now';
import { ensureAndDescribe } from '../src/temporal/search-attributes';
import { startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';
import { waitFor } from './support/faults';
import { freshNamespace } from './support/namespace';
import { pauseSchedule } from './support/schedules';

type Handle = WorkflowHandle;

/** Each scheduled activity's summary (its user metadata), by activity type, in history order. */
async function stepSummaries(handle: Handle): Promise<Array<[string, string]>> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    const summary = e.userMetadata?.summary;
    return scheduled && summary ? [[scheduled.activityType!.name!, defaultPayloadConverter.fromPayload<string>(summary)] as [string, string]] : [];
  });
}

async function currentDetails(handle: Handle): Promise<string> {
  return ((await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string }).currentDetails ?? '';
}

/**
 * What a backup run shows of itself on a real Temporal server: its search attributes, its
 * summary and current details, a summary on each step; and what happens in a namespace that
 * does not have the attributes.
 */
describe('a backup run as Temporal shows it', () => {
  let db: { name: string; url: string };
  let worker: TestWorker;

  beforeAll(async () => {
    db = await freshDemoDatabase('observe');
    worker = await startTestWorker({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it('tags itself with its label, database, trigger, size and verification, and tells its story', async () => {
    const label = `observe-${randomUUID().slice(0, 8)}`;
    const workflowId = `backup-${label}-manual-${Date.now()}`;
    const result = await backupNow(worker.client, { environment: label, taskQueue: worker.config.taskQueue, workflowId, database: db.name });
    const handle = worker.client.workflow.getHandle(workflowId);
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(BACKUP_ENVIRONMENT)).toBe(label);
    expect(described.typedSearchAttributes.get(BACKUP_DATABASE)).toBe(db.name);
    expect(described.typedSearchAttributes.get(BACKUP_TRIGGER)).toBe('manual');
    expect(described.typedSearchAttributes.get(BACKUP_SIZE_BYTES)).toBe(result.sizeBytes);
    expect(described.typedSearchAttributes.get(BACKUP_VERIFIED)).toBe(true);
    expect(await described.staticSummary()).toBe(`Backup of ${label} · database ${db.name} · manual`);
    expect(await described.staticDetails()).toContain(`Started by hand: \`pg-backup-workflow backup ${label}\`.`);

    expect(await currentDetails(handle)).toMatch(
      new RegExp(
        `^\\*\\*${label}\\*\\* · database ${db.name} · manual\\n\\nCompleted: ${result.fileName}, [\\d.]+ [KM]B, verified \\(3 tables, 42,000 rows\\), in \\d+s`,
      ),
    );
    const summaries = new Map(await stepSummaries(handle));
    expect(Object.fromEntries(summaries)).toMatchObject({
      dump: `pg_dump of "${label}" to a plain .sql beside the backups, followed by compress`,
      compress: 'compress the .sql while pg_dump writes it',
      // Three slots (the default BACKUP_HOST_CONCURRENCY): verify runs beside compress.
      verify: 'restore the backup into a scratch database while compress writes it, and compare row counts',
      saveRoles: `the roles the database needs, beside ${result.fileName}`,
      stat: `size and sha256 of ${result.fileName}, written to ${result.fileName}.sha256`,
      prune: `retention: older backups of "${label}" (keeps ${result.fileName})`,
      notify: 'Slack: backup completed',
    });

    // What a person types into the Web UI's filter, or `temporal workflow list --query`.
    const query = `PgBackupEnvironment = '${label}' AND PgBackupDatabase = '${db.name}' AND PgBackupVerified = true AND PgBackupSizeBytes > 0 AND ExecutionStatus = 'Completed'`;
    const listed = await waitFor('the run in visibility', async () => {
      const ids: string[] = [];
      for await (const w of worker.client.workflow.list({ query })) ids.push(w.workflowId);
      return ids.length ? ids : undefined;
    });
    expect(listed).toEqual([workflowId]);
  });

  it('knows when a Schedule started it', async () => {
    const label = `observe-sched-${randomUUID().slice(0, 8)}`;
    const config = loadScheduleConfig({
      BACKUP_ENVIRONMENT: label,
      BACKUP_TASK_QUEUE: worker.config.taskQueue,
      BACKUP_SCHEDULE_ID: `test-observe-${randomUUID().slice(0, 8)}`,
    });
    const [{ scheduleId }] = await applyBackupSchedules(worker.client, config);
    const schedule = worker.client.schedule.getHandle(scheduleId);
    try {
      await pauseSchedule(schedule, 'test: only the trigger below runs');
      expect((await schedule.describe()).action).toMatchObject({ staticSummary: `Backup of ${label} · schedule ${scheduleId}` });
      await schedule.trigger();
      const action = await waitFor('the triggered backup', async () => (await schedule.describe()).info.recentActions.at(-1)?.action);
      const handle = worker.client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId);
      await handle.result();
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(BACKUP_TRIGGER)).toBe('schedule');
      expect(await described.staticSummary()).toBe(`Backup of ${label} · schedule ${scheduleId}`);
      expect(await currentDetails(handle)).toMatch(new RegExp(`^\\*\\*${label}\\*\\* · database ${db.name} · schedule ${scheduleId}\\n`));
    } finally {
      await schedule.delete();
    }
  });

  it('in a namespace without the attributes: backs up all the same, warns once how to create them, and stays findable', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const warn = vi.spyOn(console, 'warn');
    let bare: TestWorker | undefined;
    let tagged: TestWorker | undefined;
    try {
      const namespace = await freshNamespace(connection, 'pgbw-bare');
      const client = new Client({ connection, namespace });
      const label = `bare-${randomUUID().slice(0, 8)}`;
      bare = await startTestWorker({ DATABASE_URL: db.url, BACKUP_VERIFY: 'false' }, { namespace });
      const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes(`"${namespace}"`));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`the namespace "${namespace}" lacks the search attributes backup runs need: PgBackupEnvironment (Keyword)`);
      expect(warnings[0]).toContain(`temporal operator search-attribute create --namespace ${namespace} --name PgBackupEnvironment --type Keyword`);

      const untaggedId = `backup-${label}-manual-${Date.now()}`;
      await backupNow(client, { environment: label, taskQueue: bare.config.taskQueue, workflowId: untaggedId });
      const untagged = client.workflow.getHandle(untaggedId);
      // No upsert at all: an attribute the namespace lacks would have failed the workflow task forever.
      expect(((await untagged.fetchHistory()).events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toEqual([]);
      expect(await currentDetails(untagged)).toMatch(/Completed: /);
      const findLastBackups = makeFindLastBackups(client);
      // The freshness check falls back to the memo-based listing (once visibility has the completed run).
      const newest = async () => (await findLastBackups({ environments: [label], lookbackMs: 3_600_000 }))[label]?.workflowId;
      await waitFor('the freshness lookup to find the untagged run', async () => (await newest()) === untaggedId);

      // `schedule apply` creates them; a worker started afterwards tags its runs, and the newest run is found by query.
      expect(await ensureAndDescribe(connection, namespace)).toEqual([
        `created search attributes in namespace "${namespace}": PgBackupEnvironment, PgBackupDatabase, PgBackupSizeBytes, PgBackupVerified, PgBackupTrigger`,
      ]);
      tagged = await startTestWorker({ DATABASE_URL: db.url, BACKUP_VERIFY: 'false' }, { namespace });
      const taggedId = `backup-${label}-manual-${Date.now()}`;
      await backupNow(client, { environment: label, taskQueue: tagged.config.taskQueue, workflowId: taggedId });
      expect((await client.workflow.getHandle(taggedId).describe()).typedSearchAttributes.get(BACKUP_ENVIRONMENT)).toBe(label);
      await waitFor(
        'the tagged run in visibility',
        async () => (await client.workflow.count(`PgBackupEnvironment = '${label}' AND ExecutionStatus = 'Completed'`)).count === 1,
      );
      expect(await newest()).toBe(taggedId);
    } finally {
      warn.mockRestore();
      await bare?.stop();
      await tagged?.stop();
      await connection.close();
    }
  });
});
