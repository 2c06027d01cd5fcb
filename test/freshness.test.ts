import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program';
import { loadFreshnessScheduleConfig, loadWatchdogConfig } from '../src/config/freshness';
import type { Env } from '../src/config/registry';
import { upsertFreshnessSchedule } from '../src/freshness/schedule';
import type { FreshnessResult } from '../src/freshness/state';
import { createWatchdogWorker } from '../src/temporal/workers';
import { startBackup, startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';
import { waitFor } from './support/faults';
import { startSlackReceiver, type SlackReceiver } from './support/slack-receiver';
import { pauseSchedule } from './support/schedules';

/** `pg-backup-workflow freshness …` */
const runFreshnessCli = (argv: string[], env: Env, io: CliIo) => runCli(['freshness', ...argv], { env, io });

/** temporal.api.enums.v1.WorkflowExecutionStatus (the proto package is not a direct dependency). */
const WORKFLOW_EXECUTION_STATUS_COMPLETED = 2;

describe('the freshness Schedule on a real Temporal server', () => {
  let slack: SlackReceiver;
  let backups: TestWorker;
  let watchdog: Worker;
  let watchdogRun: Promise<void>;
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;
  const watchdogQueue = `test-watchdog-${randomUUID().slice(0, 8)}`;
  const schedules: string[] = [];

  beforeAll(async () => {
    slack = await startSlackReceiver();
    const db = await freshDemoDatabase('fresh');
    // The backup worker has no webhook: every Slack message the receiver gets is the watchdog's.
    backups = await startTestWorker({ DATABASE_URL: db.url, BACKUP_VERIFY: 'false' });
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: 'default' });
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    watchdog = await createWatchdogWorker({
      connection: nativeConnection,
      namespace: 'default',
      client,
      config: loadWatchdogConfig({ SLACK_WEBHOOK_URL: slack.url, BACKUP_WATCHDOG_TASK_QUEUE: watchdogQueue }),
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    watchdogRun = watchdog.run();
  });
  afterAll(async () => {
    for (const id of schedules)
      await client?.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    if (watchdog?.getState() === 'RUNNING') watchdog.shutdown();
    await watchdogRun;
    await nativeConnection?.close();
    await backups?.stop();
    await connection?.close();
    await slack?.close();
  });

  /** Triggers the schedule and waits for that check's result: every check goes through the real Schedule. */
  async function check(scheduleId: string): Promise<FreshnessResult> {
    const handle = client.schedule.getHandle(scheduleId);
    const before = (await handle.describe()).info.numActionsTaken;
    // SKIP, the schedule's own policy (what `trigger` commands use): with the default ALLOW_ALL the
    // Schedule does not track the run's completion and would not hand its result to the next run.
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    const action = await waitFor('the triggered check to start', async () => {
      const d = await handle.describe();
      return d.info.numActionsTaken > before && d.info.recentActions.at(-1)?.action;
    });
    const result = (await client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId).result()) as FreshnessResult;
    // The Schedule learns of the completion asynchronously; only then does it hand the result to the next run.
    await waitFor('the schedule to record the completed check', async () => {
      const recorded = (await handle.describe()).raw.info?.recentActions?.find((a) => a.startWorkflowResult?.workflowId === action.workflow.workflowId);
      return recorded?.startWorkflowStatus === WORKFLOW_EXECUTION_STATUS_COMPLETED;
    });
    return result;
  }

  it('by default the backup workers run the check on their own queue, with the Worker they already have', async () => {
    const label = `fresh-shared-${randomUUID().slice(0, 8)}`;
    const db = await freshDemoDatabase('fresh_shared');
    const w = await startTestWorker({ DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url });
    try {
      expect(w.workers).toHaveLength(2); // the shared Worker and the host's file steps: no watchdog Worker
      const config = loadFreshnessScheduleConfig({
        BACKUP_ENVIRONMENT: label,
        BACKUP_MAX_AGE: '10s',
        BACKUP_FRESHNESS_SCHEDULE_ID: `test-freshness-${randomUUID().slice(0, 8)}`,
        BACKUP_TASK_QUEUE: w.config.taskQueue,
      });
      expect(config.taskQueue).toBe(w.config.taskQueue);
      schedules.push(config.scheduleId);
      await upsertFreshnessSchedule(client, config);
      await pauseSchedule(client.schedule.getHandle(config.scheduleId), 'test');
      const result = await check(config.scheduleId);
      expect(result.labels[0]).toMatchObject({ environment: label, fresh: false, alerting: true, sent: { kind: 'stale', status: 'sent' } });
      expect(slack.received.map((r) => r.json.text)).toContain(
        `⚠️ No recent database backup\n• Environment: ${label}\n• Last successful backup: never\n• Expected within: 10s`,
      );
    } finally {
      await w.stop();
    }
  });

  it('alerts once per gap, says when backups are fresh again, and alerts again when they go stale', async () => {
    const label = `fresh-${randomUUID().slice(0, 8)}`;
    const config = loadFreshnessScheduleConfig({
      BACKUP_ENVIRONMENT: label,
      BACKUP_MAX_AGE: '10s',
      BACKUP_FRESHNESS_SCHEDULE_ID: `test-freshness-${randomUUID().slice(0, 8)}`,
      BACKUP_WATCHDOG_TASK_QUEUE: watchdogQueue,
    });
    schedules.push(config.scheduleId);
    expect((await upsertFreshnessSchedule(client, config)).summary).toMatch(
      new RegExp(`^created schedule ${config.scheduleId}: Every 1h: alert when "${label}" has no successful backup younger than 10s`),
    );
    expect((await upsertFreshnessSchedule(client, config)).outcome).toBe('updated');
    const schedule = client.schedule.getHandle(config.scheduleId);
    // Only our triggers run (an hour boundary during the test must not add a check); trigger works while paused.
    await pauseSchedule(schedule, 'test');
    const d = await schedule.describe();
    expect(d.action).toMatchObject({
      workflowType: 'checkBackupFreshness',
      taskQueue: watchdogQueue,
      args: [{ environments: [label], maxAgeMs: 10_000, maxAge: '10s' }],
    });
    expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 365 * 86_400_000 });

    const texts = () => slack.received.map((r) => r.json.text ?? '').filter((t) => t.includes(`• Environment: ${label}\n`));

    // 1. No backup at all: one alert.
    const first = await check(config.scheduleId);
    expect(first.previousCheckAt).toBeNull();
    expect(first.labels).toEqual([{ environment: label, fresh: false, alerting: true, last: null, sent: { kind: 'stale', status: 'sent' } }]);
    expect(texts()).toEqual([`⚠️ No recent database backup\n• Environment: ${label}\n• Last successful backup: never\n• Expected within: 10s`]);

    // 2. Still no backup: the previous scheduled run's result (lastResult) says it was announced.
    const second = await check(config.scheduleId);
    expect(second.previousCheckAt).toBe(first.checkedAt);
    expect(second.labels[0]).toEqual({ environment: label, fresh: false, alerting: true, last: null });
    expect(texts()).toHaveLength(1);

    // 3. A backup completes: "fresh again", once.
    const backup = await (await startBackup(backups, label)).result();
    const third = await check(config.scheduleId);
    expect(third.labels[0]).toMatchObject({ fresh: true, alerting: false, last: { fileName: backup.fileName }, sent: { kind: 'fresh-again', status: 'sent' } });
    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toMatch(
      new RegExp(`^✅ Database backups are fresh again\\n• Environment: ${label}\\n• Latest: ${backup.fileName.replace(/\./g, '\\.')} \\(\\d+s ago\\)$`),
    );
    expect((await check(config.scheduleId)).labels[0]).toMatchObject({ fresh: true, alerting: false });
    expect(texts()).toHaveLength(2);

    // 4. The last success grows older than BACKUP_MAX_AGE (as when every backup worker is down): alert again, once.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(third.labels[0].last!.closedAt) + 10_500 - Date.now())));
    const stale = await check(config.scheduleId);
    expect(stale.labels[0]).toMatchObject({ fresh: false, alerting: true, sent: { kind: 'stale', status: 'sent' } });
    expect(texts()).toHaveLength(3);
    expect(texts()[2]).toMatch(
      new RegExp(
        `^⚠️ No recent database backup\\n• Environment: ${label}\\n• Last successful backup: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(1\\ds ago\\)\\n• Expected within: 10s$`,
      ),
    );
    await check(config.scheduleId);
    expect(texts()).toHaveLength(3);

    // The CLI shows the state the latest check handed on.
    const io = { lines: [] as string[], errors: [] as string[], out: (l: string) => void io.lines.push(l), err: (l: string) => void io.errors.push(l) };
    const cliEnv = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BACKUP_ENVIRONMENT: label,
      BACKUP_MAX_AGE: '10s',
      BACKUP_FRESHNESS_SCHEDULE_ID: config.scheduleId,
    };
    expect(await runFreshnessCli(['describe'], cliEnv, io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(
      new RegExp(
        `^schedule ${config.scheduleId}: PAUSED \\(note: test\\)\n[^]*\n    ${label} +STALE \\(alerted\\)  last success: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(\\d+s ago\\) ${backup.fileName.replace(/\./g, '\\.')}$`,
      ),
    );
    expect(await runFreshnessCli(['frobnicate'], cliEnv, io)).toBe(2);
  });

  it('a watchdog that was down checks as soon as it is back; scheduled runs hand their result on', async () => {
    // A queue no watchdog polls yet, as when the watchdog host has been down.
    const queue = `test-watchdog-late-${randomUUID().slice(0, 8)}`;
    const config = loadFreshnessScheduleConfig({
      BACKUP_ENVIRONMENT: `late-${randomUUID().slice(0, 8)}`,
      BACKUP_FRESHNESS_INTERVAL: '2s',
      BACKUP_FRESHNESS_SCHEDULE_ID: `test-freshness-${randomUUID().slice(0, 8)}`,
      BACKUP_WATCHDOG_TASK_QUEUE: queue,
    });
    schedules.push(config.scheduleId);
    await upsertFreshnessSchedule(client, config);
    const schedule = client.schedule.getHandle(config.scheduleId);
    await new Promise((r) => setTimeout(r, 7_000));
    // The first check waits in the queue; the ones due meanwhile are skipped (overlap SKIP), not piled up.
    const waiting = await schedule.describe();
    expect(waiting.info.runningActions).toHaveLength(1);
    expect(waiting.info.numActionsSkippedOverlap).toBeGreaterThanOrEqual(2);

    const late = await createWatchdogWorker({
      connection: nativeConnection,
      namespace: 'default',
      client,
      config: loadWatchdogConfig({ BACKUP_WATCHDOG_TASK_QUEUE: queue }),
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const backAt = Date.now();
    const lateRun = late.run();
    try {
      const first = waiting.info.runningActions[0].workflow;
      const result = (await client.workflow.getHandle(first.workflowId, first.firstExecutionRunId).result()) as FreshnessResult;
      // "now" is when the watchdog ran it, not when it was scheduled.
      expect(Date.parse(result.checkedAt)).toBeGreaterThanOrEqual(backAt - 1_000);
      expect(result.labels[0]).toMatchObject({ fresh: false, alerting: true, sent: { kind: 'stale', status: 'skipped' } });
      // The next run started by the Schedule's own timer (not a trigger) is handed that result.
      const next = await waitFor('the next scheduled check', async () => {
        const d = await schedule.describe();
        const a = d.info.recentActions.find((x) => x.action.workflow.workflowId !== first.workflowId)?.action.workflow;
        return a && ((await client.workflow.getHandle(a.workflowId, a.firstExecutionRunId).result()) as FreshnessResult);
      });
      expect(next.previousCheckAt).toBe(result.checkedAt);
      expect(next.labels[0]).toMatchObject({ fresh: false, alerting: true });
      expect(next.labels[0].sent).toBeUndefined();
    } finally {
      await schedule.delete().catch(() => undefined);
      late.shutdown();
      await lateRun;
    }
  });

  it('moving the check to another queue ends a check stranded on the old one, which would block every later check', async () => {
    const env = {
      BACKUP_ENVIRONMENT: `moved-${randomUUID().slice(0, 8)}`,
      BACKUP_FRESHNESS_SCHEDULE_ID: `test-freshness-${randomUUID().slice(0, 8)}`,
      // As before an upgrade: a queue nobody polls any more.
      BACKUP_WATCHDOG_TASK_QUEUE: `test-retired-${randomUUID().slice(0, 8)}`,
    };
    const config = loadFreshnessScheduleConfig(env);
    schedules.push(config.scheduleId);
    await upsertFreshnessSchedule(client, config);
    const schedule = client.schedule.getHandle(config.scheduleId);
    await pauseSchedule(schedule, 'test');
    await schedule.trigger(ScheduleOverlapPolicy.SKIP);
    const stranded = await waitFor('the check to wait on the retired queue', async () => (await schedule.describe()).info.runningActions[0]?.workflow);

    expect((await upsertFreshnessSchedule(client, loadFreshnessScheduleConfig({ ...env, BACKUP_WATCHDOG_TASK_QUEUE: watchdogQueue }))).outcome).toBe('updated');
    expect((await client.workflow.getHandle(stranded.workflowId, stranded.firstExecutionRunId).describe()).status.name).toBe('TERMINATED');
    // The next check runs on the new queue.
    expect((await check(config.scheduleId)).labels[0]).toMatchObject({ environment: env.BACKUP_ENVIRONMENT, alerting: true });
  });

  it('a failed backup does not count as fresh; labels are checked independently', async () => {
    const [good, broken] = [`ok-${randomUUID().slice(0, 8)}`, `down-${randomUUID().slice(0, 8)}`];
    const config = loadFreshnessScheduleConfig({
      BACKUP_ENVIRONMENTS: `${good},${broken}`,
      BACKUP_MAX_AGE: '1h',
      BACKUP_FRESHNESS_SCHEDULE_ID: `test-freshness-${randomUUID().slice(0, 8)}`,
      BACKUP_WATCHDOG_TASK_QUEUE: watchdogQueue,
    });
    schedules.push(config.scheduleId);
    await upsertFreshnessSchedule(client, config);
    await pauseSchedule(client.schedule.getHandle(config.scheduleId), 'test');
    await (await startBackup(backups, good)).result();
    // The broken label's database does not exist: its run fails.
    const failing = await startTestWorker({ DATABASE_URL: `${inject('pgAdminUrl').replace(/\/[^/?]*(\?|$)/, '/no_such_db$1')}`, BACKUP_MAX_ATTEMPTS: '1' });
    try {
      await expect((await startBackup(failing, broken)).result()).rejects.toThrow();
    } finally {
      await failing.stop();
    }
    const result = await check(config.scheduleId);
    expect(result.labels.map((l) => [l.environment, l.fresh, l.sent?.kind])).toEqual([
      [good, true, undefined],
      [broken, false, 'stale'],
    ]);
  });
});
