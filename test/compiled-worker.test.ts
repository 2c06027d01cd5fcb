import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { buildCompiledWorker } from '../src/dev/compiled-worker';
import { PROJECT_ROOT } from '../src/dev/paths';
import { freshDemoDatabase, restoreWithPsql, tableFingerprints } from './support/database';
import { spawnWorkerProcess } from './support/faults';

/**
 * Production runs the compiled worker (`npm run build`, `npm run worker:compiled`, the Docker
 * image's `node --max-semi-space-size=4 lib/worker.js`), not the TypeScript sources the other
 * tests load through tsx: a difference between the two (a path resolved from the build's
 * directory, a file the build leaves out) only shows here.
 */
describe('the compiled worker, as the Docker image runs it', () => {
  let outDir: string;
  let entry: string[];
  beforeAll(() => {
    fs.mkdirSync(path.join(PROJECT_ROOT, '.run'), { recursive: true });
    outDir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.run', 'test-lib-'));
    ({ entry } = buildCompiledWorker(outDir));
  }, 300_000);
  afterAll(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it('starts, polls and completes a verified backup that restores to the source', async () => {
    const source = await freshDemoDatabase('compiled');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-compiled-'));
    const taskQueue = `compiled-${randomUUID().slice(0, 8)}`;
    const worker = await spawnWorkerProcess(
      { DATABASE_URL: source.url, TEMPORAL_ADDRESS: inject('temporalAddress'), BACKUP_DIR: dir, BACKUP_TASK_QUEUE: taskQueue },
      entry,
    );
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const client = new Client({ connection });
      const result: BackupResult = await client.workflow.execute('backupDatabase', { taskQueue, workflowId: `compiled-${randomUUID()}`, args: ['production'] });
      expect(result.verification?.verified).toBe(true);
      expect(fs.statSync(result.filePath).mode & 0o777).toBe(0o600);
      const restored = await restoreWithPsql(result.filePath, `${source.name}_restored`);
      expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
    } finally {
      worker.child.kill('SIGTERM');
      await connection.close();
    }
  }, 180_000);

  it('answers --help and --version from the build', () => {
    const main = path.join(outDir, 'cli', 'main.js');
    expect(execFileSync(process.execPath, [main, 'worker', '--help'], { encoding: 'utf8' })).toMatch(/^Environment \(see the README/m);
    expect(execFileSync(process.execPath, [main, '--version'], { encoding: 'utf8' })).toMatch(/^pg-backup-workflow \d+\.\d+\.\d+$/m);
  });
});
