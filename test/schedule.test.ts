import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli, type CliIo } from '../src/cli/program';
import { loadScheduleConfig } from '../src/config/schedule';
import type { Env } from '../src/config/registry';
import { upsertBackupSchedules } from '../src/schedule/manage';
import { startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';

/** `pg-backup-workflow schedule …` */
const runScheduleCli = (argv: string[], env: Env, io: CliIo) => runCli(['schedule', ...argv], { env, io });

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');

describe('schedule CLI entry point', () => {
  it('`npm run schedule -- --help` lists every command', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'schedule', '--', '--help'], { cwd: ROOT });
    for (const command of ['apply', 'describe', 'pause', 'unpause', 'trigger', 'delete']) expect(stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('exits 2 with a message naming the variable on bad configuration, before contacting any server', async () => {
    const failure = await run(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/schedule.ts'], {
      cwd: ROOT,
      env: { ...process.env, BACKUP_SCHEDULE_TIME: '25:00', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/^configuration error: BACKUP_SCHEDULE_TIME: expected a 24-hour time of day HH:MM/m);
  });

  it('exits 2 on an unknown command', async () => {
    const io = captureIo();
    expect(await runScheduleCli(['frobnicate'], {}, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(/unknown command "frobnicate"/);
  });
});

describe('the daily Schedule on a real Temporal server', () => {
  let connection: Connection;
  let client: Client;
  const created: string[] = [];

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: 'default' });
  });
  afterAll(async () => {
    for (const id of created)
      await client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await connection?.close();
  });

  /** Env as an operator would set it, pointing at the test server, with a schedule id of its own. */
  function scheduleEnv(extra: Record<string, string> = {}) {
    const scheduleId = `test-schedule-${randomUUID().slice(0, 8)}`;
    created.push(scheduleId, `${scheduleId}-freshness`);
    return {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      BACKUP_SCHEDULE_ID: scheduleId,
      BACKUP_FRESHNESS_SCHEDULE_ID: `${scheduleId}-freshness`,
      ...extra,
    };
  }

  it('creates, then updates in place: one schedule with the newest settings', async () => {
    const env = scheduleEnv({ BACKUP_SCHEDULE_TIME: '04:15', BACKUP_TIMEZONE: 'UTC', BACKUP_CATCHUP_WINDOW: '30m' });
    const id = env.BACKUP_SCHEDULE_ID;
    const first = captureIo();
    expect(await runScheduleCli([], env, first)).toBe(0);
    expect(first.lines).toEqual([
      // the runs' search attributes: the test server registers them as it starts
      'search attributes of namespace "default": all in place',
      expect.stringMatching(new RegExp(`^created schedule ${id}: Daily PostgreSQL backup of "production" at 04:15 UTC`)),
      // apply also keeps the hourly freshness check in place
      expect.stringMatching(
        new RegExp(
          `^(created|updated) schedule ${env.BACKUP_FRESHNESS_SCHEDULE_ID}: Every 1h: alert when "production" has no successful backup younger than 26h`,
        ),
      ),
    ]);

    const newest = { ...env, BACKUP_SCHEDULE_TIME: '03:00', BACKUP_TIMEZONE: 'Europe/Berlin', BACKUP_CATCHUP_WINDOW: '2h' };
    const second = captureIo();
    expect(await runScheduleCli(['apply'], newest, second)).toBe(0);
    expect(second.lines).toEqual([
      'search attributes of namespace "default": all in place',
      expect.stringMatching(new RegExp(`^updated schedule ${id}: .* at 03:00 Europe/Berlin`)),
      expect.stringMatching(new RegExp(`^updated schedule ${env.BACKUP_FRESHNESS_SCHEDULE_ID}: `)),
    ]);
    // The exported API is idempotent too (another entry point calls it on every start).
    expect(await upsertBackupSchedules(client, loadScheduleConfig(newest))).toEqual([id]);

    // The list is served by visibility, which lags a little behind the write.
    const matching = await eventually(async () => {
      const found: string[] = [];
      for await (const s of client.schedule.list()) if (s.scheduleId === id) found.push(s.scheduleId);
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    expect(matching).toHaveLength(1);

    const d = await client.schedule.getHandle(id).describe();
    expect(d.spec.timezone).toBe('Europe/Berlin');
    expect(d.spec.calendars).toHaveLength(1);
    expect(d.spec.calendars![0]).toMatchObject({ hour: [{ start: 3, end: 3, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
    expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 7_200_000 });
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'backupDatabase',
      args: ['production'],
      taskQueue: 'backups',
      workflowId: 'backup-production',
    });
    expect(d.memo).toMatchObject({ environment: 'production', purpose: expect.stringMatching(/^Daily PostgreSQL backup of "production"/) });
    expect(d.state.paused).toBe(false);
    // Next runs fall at 03:00 Berlin wall-clock time, whatever the UTC offset of the day.
    expect(d.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const t of d.info.nextActionTimes) expect(wallClock(t, 'Europe/Berlin')).toBe('03:00');

    const described = captureIo();
    expect(await runScheduleCli(['describe'], newest, described)).toBe(0);
    const text = described.lines.join('\n');
    expect(text).toContain(`schedule ${id}: active`);
    expect(text).toContain('daily at 03:00 Europe/Berlin');
    expect(text).toContain('overlap SKIP, catch-up window 2h');
    expect(text).toMatch(/next runs: +\d{4}-\d\d-\d\d 03:00 Europe\/Berlin/);
  });

  it('makes one schedule per label of BACKUP_ENVIRONMENTS', async () => {
    const env = scheduleEnv({ BACKUP_ENVIRONMENTS: 'production,staging' });
    const ids = await upsertBackupSchedules(client, loadScheduleConfig(env));
    created.push(...ids);
    expect(ids).toEqual([`${env.BACKUP_SCHEDULE_ID}-production`, `${env.BACKUP_SCHEDULE_ID}-staging`]);
    const staging = await client.schedule.getHandle(ids[1]).describe();
    expect(staging.action).toMatchObject({ args: ['staging'], workflowId: 'backup-staging' });
  });

  describe('with a backup worker', () => {
    let worker: TestWorker;
    beforeAll(async () => {
      const db = await freshDemoDatabase('sched');
      worker = await startTestWorker({ DATABASE_URL: db.url });
    });
    afterAll(async () => worker?.stop());

    it('trigger starts a backupDatabase run that completes and writes a backup file', async () => {
      const label = `sched-${randomUUID().slice(0, 8)}`;
      const env = scheduleEnv({ BACKUP_ENVIRONMENT: label, BACKUP_TASK_QUEUE: worker.config.taskQueue });
      const id = env.BACKUP_SCHEDULE_ID;
      expect(await runScheduleCli([], env, captureIo())).toBe(0);
      expect(await runScheduleCli(['trigger'], env, captureIo())).toBe(0);

      const action = await eventually(async () => {
        const d = await client.schedule.getHandle(id).describe();
        expect(d.info.recentActions.length).toBeGreaterThan(0);
        return d.info.recentActions[0].action;
      });
      expect(action.workflow.workflowId.startsWith(`backup-${label}-`)).toBe(true);
      const result = (await client.workflow.getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId).result()) as {
        environment: string;
        filePath: string;
        fileName: string;
      };
      expect(result.environment).toBe(label);
      expect(path.dirname(result.filePath)).toBe(worker.backupDir);
      expect(fs.statSync(result.filePath).size).toBeGreaterThan(0);
      expect(result.fileName).toMatch(new RegExp(`_${label}_\\d{8}_\\d{6}(_\\d+)?\\.sql\\.gz$`));

      // Visibility knows the run as started by this schedule.
      const listed = await eventually(async () => {
        const found = [];
        for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${id}'` })) found.push(w);
        expect(found.length).toBeGreaterThan(0);
        return found;
      });
      expect(listed.map((w) => w.workflowId)).toEqual([action.workflow.workflowId]);
      expect(listed[0].type).toBe('backupDatabase');

      const described = captureIo();
      expect(await runScheduleCli(['describe'], env, described)).toBe(0);
      expect(described.lines.join('\n')).toMatch(new RegExp(`COMPLETED +${action.workflow.workflowId}`));
    });
  });

  it('pause and unpause with a note; apply keeps a pause', async () => {
    const env = scheduleEnv();
    const id = env.BACKUP_SCHEDULE_ID;
    const handle = client.schedule.getHandle(id);
    expect(await runScheduleCli([], env, captureIo())).toBe(0);

    expect(await runScheduleCli(['pause', '--note', 'database migration until 14:00'], env, captureIo())).toBe(0);
    expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'database migration until 14:00' });

    // Re-applying the settings (e.g. a deploy) must not silently resume backups.
    expect(await runScheduleCli(['apply'], { ...env, BACKUP_SCHEDULE_TIME: '02:30' }, captureIo())).toBe(0);
    const afterApply = await handle.describe();
    expect(afterApply.state).toMatchObject({ paused: true, note: 'database migration until 14:00' });
    expect(afterApply.spec.calendars![0]).toMatchObject({ hour: [{ start: 2 }], minute: [{ start: 30 }] });

    const described = captureIo();
    await runScheduleCli(['describe'], env, described);
    expect(described.lines.join('\n')).toContain(`schedule ${id}: PAUSED (note: database migration until 14:00)`);

    expect(await runScheduleCli(['unpause', '--note', 'migration done'], env, captureIo())).toBe(0);
    expect((await handle.describe()).state).toMatchObject({ paused: false, note: 'migration done' });
  });

  it('delete removes the schedule; commands on it then say it does not exist', async () => {
    const env = scheduleEnv();
    const id = env.BACKUP_SCHEDULE_ID;
    expect(await runScheduleCli([], env, captureIo())).toBe(0);
    const deleted = captureIo();
    expect(await runScheduleCli(['delete'], env, deleted)).toBe(0);
    expect(deleted.lines).toEqual([`deleted ${id}`]);
    await expect(client.schedule.getHandle(id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);

    const again = captureIo();
    expect(await runScheduleCli(['describe'], env, again)).toBe(1);
    expect(again.errors).toEqual([`schedule ${id} does not exist: \`pg-backup-workflow schedule apply\` creates it`]);
  });
});

function captureIo() {
  const io = { lines: [] as string[], errors: [] as string[], out: (l: string) => void io.lines.push(l), err: (l: string) => void io.errors.push(l) };
  return io;
}

/** Retries `check` until it passes: for state the server updates asynchronously (visibility, schedule actions). */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function wallClock(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(instant);
}
