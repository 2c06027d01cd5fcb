import type { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { makeProgressEnricher } from '../../src/activities/progress-report';
import { failedStep } from '../../src/common/backup-metrics';
import { PROGRESS_SIGNAL, bytesOfStep, type StepProgress } from '../../src/common/progress-signal';
import { runMetadata } from '../../src/common/run-summary';
import { option } from '../../src/config/registry';
import { SearchAttributeGate } from '../../src/temporal/search-attribute-gate';
import { stepSummary } from '../../src/workflows/step-summaries';

const MiB = 1024 * 1024;

/** A client that records the signals sent through it, and nothing else. */
function recordingClient() {
  const signals: Array<{ workflowId: string; runId?: string; name: string; progress: StepProgress }> = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string, runId?: string) => ({
        signal: async (name: string, progress: StepProgress) => void signals.push({ workflowId, runId, name, progress }),
      }),
    },
  } as unknown as Client;
  return { client, signals };
}

function activityContext(activityType: string): Context {
  return { info: { activityType, workflowExecution: { workflowId: 'backup-production-1', runId: 'run-1' } } } as unknown as Context;
}

describe('what a step reports of its bytes', () => {
  it('reads each way the steps word it', () => {
    expect(bytesOfStep({ step: 'dump', bytes: 10, expectedBytes: 100 })).toEqual({ done: 10, expected: 100, estimate: true, phase: '' });
    expect(bytesOfStep({ step: 'verify', bytes: 10, total: 50 })).toEqual({ done: 10, expected: 50, estimate: false, phase: '' });
    expect(bytesOfStep({ step: 'encrypt', bytesIn: 5, totalIn: 20 })).toEqual({ done: 5, expected: 20, estimate: false, phase: '' });
    expect(bytesOfStep({ step: 'copyToDirectory', phase: 'write', bytes: 1, total: 2 })).toMatchObject({ phase: 'write' });
    expect(bytesOfStep({ step: 'dump' })).toBeUndefined();
  });

  it('counts a compress that follows a dump still being written against the dump estimate, then against the whole dump', () => {
    expect(bytesOfStep({ step: 'compress', bytesIn: 30, totalIn: 40, dumping: true, expectedBytes: 100 })).toEqual({
      done: 30,
      expected: 100,
      estimate: true,
      phase: '',
    });
    expect(bytesOfStep({ step: 'compress', bytesIn: 30, totalIn: 90, dumping: false, expectedBytes: 100 })).toMatchObject({ expected: 90, estimate: false });
    expect(bytesOfStep({ step: 'compress', bytesIn: 30, totalIn: 40, dumping: true })).toEqual({ done: 30, expected: undefined, estimate: false, phase: '' });
    // A verify following compress: what compress has written so far is no total either.
    expect(bytesOfStep({ step: 'verify', bytes: 30, total: 40, compressing: true })).toEqual({ done: 30, expected: undefined, estimate: false, phase: '' });
  });
});

describe('progress passed on to the workflow', () => {
  it('gives every heartbeat percent and time left, and the workflow a few throttled signals', () => {
    let now = Date.parse('2025-10-20T03:00:00Z');
    const { client, signals } = recordingClient();
    const enrich = makeProgressEnricher({ client, timeZone: 'UTC', minIntervalMs: 30_000, now: () => now });
    const ctx = activityContext('dump');
    const beats: Array<Record<string, unknown>> = [];
    // A ten-minute dump at 5 MiB/s of a 3000 MiB database, one beat per second.
    for (let s = 0; s <= 600; s++) {
      now += s === 0 ? 0 : 1000;
      beats.push(enrich(ctx, { step: 'dump', database: 'resee_prod', bytes: s * 5 * MiB, expectedBytes: 3000 * MiB }) as Record<string, unknown>);
    }
    expect(beats[300]).toMatchObject({ step: 'dump', database: 'resee_prod', bytes: 1500 * MiB, percent: 50, remaining: 'about 5 min' });
    // Nothing before the step has run for the interval; then on 5% steps, at most every 30 s: about twenty for ten minutes.
    expect(signals.length).toBeGreaterThanOrEqual(15);
    expect(signals.length).toBeLessThanOrEqual(21);
    expect(signals.every((s) => s.name === PROGRESS_SIGNAL && s.workflowId === 'backup-production-1' && s.runId === 'run-1')).toBe(true);
    expect(signals[0].progress).toEqual({
      step: 'dump',
      text: 'dump 5% · 150.00 MB of ~2.93 GB · about 10 min left (around 03:10 UTC)',
      percent: 5,
      remainingMs: expect.closeTo(570_000, -3),
      database: 'resee_prod',
    });
  });

  it('sends nothing for a short step, and gives no percent without an expected size', () => {
    let now = 0;
    const { client, signals } = recordingClient();
    const enrich = makeProgressEnricher({ client, timeZone: 'UTC', minIntervalMs: 30_000, now: () => now });
    const ctx = activityContext('stat');
    for (let s = 0; s <= 20; s++, now += 1000) enrich(ctx, { step: 'stat', bytes: s * MiB, total: 20 * MiB });
    expect(signals).toEqual([]);
    const other = activityContext('dump');
    expect(enrich(other, { step: 'dump', bytes: 1 })).toEqual({ step: 'dump', bytes: 1 });
    expect(enrich(other, { step: 'dump' })).toEqual({ step: 'dump' });
  });

  it('starts again for a new phase of a step (a copy that reads its file back)', () => {
    let now = 0;
    const enrich = makeProgressEnricher({ timeZone: 'UTC', now: () => now });
    const ctx = activityContext('copyToDirectory');
    for (let s = 0; s <= 20; s++, now += 1000) enrich(ctx, { step: 'copyToDirectory', phase: 'write', bytes: s * MiB, total: 20 * MiB });
    const readBack = enrich(ctx, { step: 'copyToDirectory', phase: 'verify', bytes: 0, total: 20 * MiB });
    expect(readBack).toEqual({ step: 'copyToDirectory', phase: 'verify', bytes: 0, total: 20 * MiB, percent: 0 });
  });
});

describe('summaries', () => {
  it('gives each step one line from its own input', () => {
    expect(stepSummary('dump', [{ environment: 'production', timestamp: '20251020_030000', announce: true }])).toBe(
      'pg_dump of "production" to a plain .sql beside the backups, followed by compress',
    );
    expect(stepSummary('compress', [{ whileDumping: true }])).toBe('compress the .sql while pg_dump writes it');
    expect(stepSummary('compress', [{ sqlPath: '/b/x_production_1.sql' }])).toBe('compress x_production_1.sql');
    expect(stepSummary('verify', [{ environment: 'production', whileCompressing: true }])).toBe(
      'restore the backup into a scratch database while compress writes it, and compare row counts',
    );
    expect(stepSummary('verify', [{ environment: 'production', path: '/b/x.sql.gz', rowCounts: {} }])).toBe(
      'restore x.sql.gz into a scratch database and compare row counts',
    );
    expect(stepSummary('stat', [{ path: '/b/x.sql.gz.age' }])).toBe('size and sha256 of x.sql.gz.age, written to x.sql.gz.age.sha256');
    expect(stepSummary('notify', [{ outcome: 'failure', environment: 'production', error: 'x' }])).toBe('Slack: backup failed');
    expect(stepSummary('saveRoles', [{ environment: 'production', path: '/b/x.sql.gz' }])).toBe('the roles the database needs, beside x.sql.gz');
    expect(stepSummary('somethingNew', [{}])).toBe('somethingNew');
  });

  it('says what a run is from its start: label, database when known, who started it', () => {
    expect(runMetadata({ environment: 'production', startedBy: { schedule: 'daily-database-backup', at: 'daily at 03:00 UTC' } }).staticSummary).toBe(
      'Backup of production · schedule daily-database-backup',
    );
    const manual = runMetadata({ environment: 'staging', database: 'resee_stage', startedBy: { command: 'pg-backup-workflow backup staging' } });
    expect(manual.staticSummary).toBe('Backup of staging · database resee_stage · manual');
    expect(manual.staticDetails).toContain('Started by hand: `pg-backup-workflow backup staging`.');
  });
});

describe('metrics', () => {
  it('names the step that failed a run', () => {
    const activity = new ActivityFailure(
      'activity failed',
      'dump',
      '3',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'w',
      ApplicationFailure.create({ message: 'pg_dump failed' }),
    );
    expect(failedStep(activity)).toBe('dump');
    expect(failedStep(new Error('moved', { cause: activity }))).toBe('dump');
    expect(failedStep(ApplicationFailure.nonRetryable('bad label', 'InvalidEnvironmentLabel'))).toBe('label');
    expect(failedStep(ApplicationFailure.nonRetryable('copy failed', 'CopyFailed'))).toBe('copy');
    expect(failedStep(new Error('?'))).toBe('workflow');
  });

  it('reads the metrics address and the progress interval from the registry', () => {
    expect(option({}, 'BACKUP_METRICS_ADDRESS')).toBeUndefined();
    expect(option({ BACKUP_METRICS_ADDRESS: '0.0.0.0:9464' }, 'BACKUP_METRICS_ADDRESS')).toBe('0.0.0.0:9464');
    expect(option({ BACKUP_METRICS_ADDRESS: '[::1]:9464' }, 'BACKUP_METRICS_ADDRESS')).toBe('[::1]:9464');
    expect(() => option({ BACKUP_METRICS_ADDRESS: '9464' }, 'BACKUP_METRICS_ADDRESS')).toThrow(/BACKUP_METRICS_ADDRESS: expected host:port/);
    expect(() => option({ BACKUP_METRICS_ADDRESS: 'localhost:99999' }, 'BACKUP_METRICS_ADDRESS')).toThrow(/port from 1 to 65535/);
    expect(option({}, 'BACKUP_PROGRESS_INTERVAL')).toBe(30_000);
    expect(() => option({ BACKUP_PROGRESS_INTERVAL: '500' }, 'BACKUP_PROGRESS_INTERVAL')).toThrow(/at least 1s/);
  });
});

describe('the search attribute gate of a worker', () => {
  /** A client whose namespace lists `registered`, counting how often it is asked. */
  function namespaceWith(registered: Record<string, number>) {
    const asked = { count: 0 };
    const client = {
      connection: {
        operatorService: {
          listSearchAttributes: async () => {
            asked.count++;
            return { customAttributes: { ...registered } };
          },
        },
      },
    } as unknown as Client;
    return { client, asked, registered };
  }

  it('warns once when attributes are missing, looks again only after a while, and says when they are in place', async () => {
    const KEYWORD = 2;
    const INT = 3;
    const BOOL = 5;
    const ns = namespaceWith({ PgBackupEnvironment: KEYWORD });
    const warnings: string[] = [];
    const gate = new SearchAttributeGate(ns.client, 'default', { recheckMs: 60_000, warn: (m) => warnings.push(m) });
    expect(await gate.allowsUpserts(0)).toBe(false);
    expect(await gate.allowsUpserts(30_000)).toBe(false);
    expect(ns.asked.count).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('lacks the search attributes backup runs need: PgBackupDatabase (Keyword), PgBackupSizeBytes (Int)');
    expect(warnings[0]).toContain('temporal operator search-attribute create --namespace default --name PgBackupDatabase --type Keyword');
    expect(warnings[0]).toContain('Backups run on without them');

    Object.assign(ns.registered, { PgBackupDatabase: KEYWORD, PgBackupSizeBytes: INT, PgBackupVerified: BOOL, PgBackupTrigger: KEYWORD });
    expect(await gate.allowsUpserts(61_000)).toBe(true);
    expect(await gate.allowsUpserts(10_000_000)).toBe(true);
    expect(ns.asked.count).toBe(2);
    expect(warnings[1]).toBe('the search attributes of namespace "default" are in place now: new runs carry them');
  });
});
