import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseUrlVariableFor } from '../src/common/label';
import { freePort } from '../src/dev/postgres-cluster';
import { BackupFailed, backupNow } from '../src/schedule/run-now';
import { freshDemoDatabase } from './support/database';
import { waitFor } from './support/faults';

const ROOT = path.resolve(__dirname, '..');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, one sample per line (`# HELP`/`# TYPE` lines skipped). */
function parseMetrics(text: string): Sample[] {
  return text.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });
}

function find(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** `pg-backup-workflow worker` as an operator runs it, in a child process with its own SDK runtime. */
async function startCliWorker(env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  let output = '';
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/main.ts', 'worker'], { cwd: ROOT, env: { ...process.env, ...env } });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    'the worker to say where its metrics are',
    () => {
      if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode}): ${output}`);
      return output.includes('Prometheus metrics at');
    },
    120_000,
  );
  return {
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function scrape(address: string): Promise<Sample[]> {
  const response = await fetch(`http://${address}/metrics`);
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

/**
 * A real worker process with BACKUP_METRICS_ADDRESS, a real backup and a failed one, then a
 * Prometheus scrape: the SDK's metrics and the backups' own are there; a restarted worker
 * reports the last success before any new backup.
 */
describe('Prometheus metrics of a worker', () => {
  let connection: Connection;
  let client: Client;
  let db: { name: string; url: string };
  const taskQueue = `test-metrics-${randomUUID().slice(0, 8)}`;
  const label = `metrics-${randomUUID().slice(0, 8)}`;
  const down = `metrics-down-${randomUUID().slice(0, 8)}`;
  let env: Record<string, string>;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
    db = await freshDemoDatabase('metrics');
    env = {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      BACKUP_TASK_QUEUE: taskQueue,
      DATABASE_URL: db.url,
      // A label whose database is unreachable: its run fails in `dump` after one attempt.
      [databaseUrlVariableFor(down)]: 'postgresql://postgres@127.0.0.1:1/nowhere',
      BACKUP_MAX_ATTEMPTS: '1',
      BACKUP_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-metrics-')),
    };
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('exports duration, size, last success and failures per label and step, beside the SDK metrics; a restart seeds the last success', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const worker = await startCliWorker({ ...env, BACKUP_METRICS_ADDRESS: address });
    let lastSuccess: number;
    try {
      const workflowId = `backup-${label}-manual-${Date.now()}`;
      const result = await backupNow(client, { environment: label, taskQueue, workflowId });
      const failed = await backupNow(client, { environment: down, taskQueue }).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(BackupFailed);

      const samples = await scrape(address);
      const ours = { environment: label, namespace: 'default', taskQueue, workflowType: 'backupDatabase' };
      expect(find(samples, 'pgbackup_runs_total', { ...ours, outcome: 'success' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'pgbackup_size_bytes', ours).map((s) => s.value)).toEqual([result.sizeBytes]);
      expect(find(samples, 'pgbackup_duration_seconds_count', ours).map((s) => s.value)).toEqual([1]);
      const sum = find(samples, 'pgbackup_duration_seconds_sum', ours)[0].value;
      expect(sum).toBeCloseTo(result.durationMs / 1000, 1);
      // Buckets for backups (30 s … 8 h), not the SDK's milliseconds.
      expect(find(samples, 'pgbackup_duration_seconds_bucket', { ...ours, le: '30' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'pgbackup_duration_seconds_bucket', { ...ours, le: '28800' })).toHaveLength(1);
      const [success] = find(samples, 'pgbackup_last_success_timestamp_seconds', ours);
      lastSuccess = success.value;
      const closed = (await client.workflow.getHandle(workflowId).describe()).closeTime!;
      expect(Math.abs(lastSuccess - closed.getTime() / 1000)).toBeLessThan(2);

      const theirs = { environment: down, taskQueue };
      expect(find(samples, 'pgbackup_runs_total', { ...theirs, outcome: 'failure' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'pgbackup_step_failures_total', { ...theirs, step: 'dump' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'pgbackup_last_success_timestamp_seconds', theirs)).toEqual([]);

      // What Prometheus would scrape, for a person to read.
      fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'test-output', 'metrics.txt'), samples.map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`).join('\n'));
      // The SDK's own, e.g. for Temporal's dashboards.
      expect(find(samples, 'temporal_workflow_completed', { task_queue: taskQueue, workflow_type: 'backupDatabase' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'temporal_workflow_failed', { task_queue: taskQueue, workflow_type: 'backupDatabase' }).map((s) => s.value)).toEqual([1]);
      expect(find(samples, 'temporal_activity_execution_latency_count', { activity_type: 'dump' }).length).toBeGreaterThan(0);
    } finally {
      await worker.stop();
    }

    // A restarted worker knows the last success from Temporal before any backup runs.
    const again = `127.0.0.1:${await freePort()}`;
    const restarted = await startCliWorker({ ...env, BACKUP_METRICS_ADDRESS: again });
    try {
      await waitFor('the seed', () => restarted.output().includes('last successful backup per label, from Temporal:'), 60_000);
      const seeded = find(await scrape(again), 'pgbackup_last_success_timestamp_seconds', { environment: label, taskQueue });
      expect(seeded).toHaveLength(1);
      expect(Math.abs(seeded[0].value - lastSuccess)).toBeLessThan(2);
    } finally {
      await restarted.stop();
    }
  });
});
