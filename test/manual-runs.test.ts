import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { withDatabase } from '../src/dev/postgres-cluster';
import { backupNow } from '../src/schedule/run-now';
import { startTestWorker, type TestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const TCTL = findTctl();

/**
 * Manual runs, outside the Schedule, in every form an operator might use: the `temporal` CLI,
 * the deprecated `tctl`, and `npm run backup:now`. Each must be completed by a real worker.
 */
describe('manual backup runs', () => {
  let worker: TestWorker;
  let address: string;

  beforeAll(async () => {
    address = inject('temporalAddress');
    const db = await freshDemoDatabase('manual');
    worker = await startTestWorker({
      DATABASE_URL: db.url,
      // A label whose database does not exist: the failure path of backup:now.
      DATABASE_URL_BROKEN: withDatabase(inject('pgAdminUrl'), `no_such_db_${process.pid}`),
      BACKUP_MAX_ATTEMPTS: '1',
    });
  });
  afterAll(async () => worker?.stop());

  async function expectCompletedBackup(workflowId: string, label: string) {
    const result = (await worker.client.workflow.getHandle(workflowId).result()) as BackupResult;
    expect(result.environment).toBe(label);
    expect(result.fileName).toMatch(new RegExp(`_${label}_\\d{8}_\\d{6}(_\\d+)?\\.sql\\.gz$`));
    expect(path.dirname(result.filePath)).toBe(worker.backupDir);
    expect(fs.statSync(result.filePath).size).toBe(result.sizeBytes);
    const description = await worker.client.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('backupDatabase');
    expect(description.status.name).toBe('COMPLETED');
  }

  it('`temporal workflow start` (the real CLI binary) starts a run the worker completes', async () => {
    const workflowId = `manual-temporal-cli-${randomUUID()}`;
    await run(inject('temporalCli'), [
      'workflow',
      'start',
      '--type',
      'backupDatabase',
      '--task-queue',
      worker.config.taskQueue,
      '--input',
      '"production"',
      '--address',
      address,
      '--workflow-id',
      workflowId,
    ]);
    await expectCompletedBackup(workflowId, 'production');
  });

  it.skipIf(!TCTL)(
    `\`tctl workflow start\` starts a run the worker completes${TCTL ? '' : ' (skipped: no tctl found; bash scripts/ensure-tctl.sh builds one)'}`,
    async () => {
      const workflowId = `manual-tctl-${randomUUID()}`;
      await run(TCTL!, [
        '--address',
        address,
        'workflow',
        'start',
        '--taskqueue',
        worker.config.taskQueue,
        '--workflow_type',
        'backupDatabase',
        '--workflow_id',
        workflowId,
        '--input',
        '"production"',
      ]);
      await expectCompletedBackup(workflowId, 'production');
    },
  );

  it('backupNow (behind `npm run backup:now`) starts, waits and returns the result', async () => {
    let started = '';
    const result = await backupNow(worker.client, { environment: 'staging', taskQueue: worker.config.taskQueue, onStarted: (id) => (started = id) });
    expect(started).toMatch(/^backup-staging-manual-\d+$/);
    expect(result.environment).toBe('staging');
    await expectCompletedBackup(started, 'staging');
  });

  describe('`npm run backup:now -- <label>` as a process', () => {
    const cli = (args: string[]) =>
      run(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/cli/main.ts', 'backup', '--json', ...args], {
        cwd: ROOT,
        env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default', BACKUP_TASK_QUEUE: worker.config.taskQueue },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );

    it('prints the JSON result and exits 0', async () => {
      const { code, stdout, stderr } = await cli(['production']);
      expect(code).toBe(0);
      const result = JSON.parse(stdout) as BackupResult;
      expect(result).toMatchObject({ environment: 'production', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(fs.existsSync(result.filePath)).toBe(true);
      expect(stderr).toMatch(/started backup-production-manual-\d+ on task queue/);
    });

    it('exits 1 with the failure message when the backup fails', async () => {
      const { code, stdout, stderr } = await cli(['broken']);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/backup backup-broken-manual-\d+ failed: .*database "no_such_db_\d+" does not exist/);
    });

    it('exits 2 on an invalid label without starting anything', async () => {
      const { code, stderr } = await cli(['../etc']);
      expect(code).toBe(2);
      expect(stderr).toMatch(/invalid environment label "..\/etc"/);
    });
  });
});

/** tctl is optional (deprecated upstream): TCTL_PATH, the one scripts/ensure-tctl.sh builds, or PATH. */
function findTctl(): string | undefined {
  for (const candidate of [process.env.TCTL_PATH, path.resolve(__dirname, '..', '.tools', 'bin', 'tctl')]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v tctl'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
