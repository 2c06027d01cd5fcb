import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config';
import { loadFreshnessScheduleConfig, loadStandaloneWatchdogConfig, loadWatchdogConfig } from '../../src/config/freshness';
import { alertingAfter, alertingLabels, assess, formatAge } from '../../src/freshness/state';
import { freshnessText } from '../../src/notify/messages';

describe('freshness decisions (pure)', () => {
  const input = { environments: ['production'], maxAgeMs: 26 * 3_600_000, maxAge: '26h' };
  const now = Date.parse('2025-10-22T12:00:00Z');
  const last = (iso: string) => ({ workflowId: 'w', runId: 'r', closedAt: iso, fileName: 'db_production_20251021_030000.sql.gz' });

  it('alerts once per gap, and once when it closes', () => {
    const never = assess('production', null, now, input, false);
    expect(never).toMatchObject({ fresh: false, notice: { kind: 'stale', environment: 'production', maxAge: '26h' } });
    expect(alertingAfter(false, never, 'sent')).toBe(true);
    expect(assess('production', null, now, input, true).notice).toBeUndefined();
    const back = assess('production', last('2025-10-22T11:00:00Z'), now, input, true);
    expect(back).toMatchObject({ fresh: true, ageMs: 3_600_000, notice: { kind: 'fresh-again' } });
    expect(alertingAfter(true, back, 'sent')).toBe(false);
    expect(assess('production', last('2025-10-22T11:00:00Z'), now, input, false).notice).toBeUndefined();
  });

  it('a message that failed to go out is tried again by the next check', () => {
    const stale = assess('production', last('2025-10-20T03:00:00Z'), now, input, false);
    expect(alertingAfter(false, stale, 'failed')).toBe(false);
    expect(alertingAfter(false, stale, 'skipped')).toBe(true);
  });

  it('reads the previous state defensively', () => {
    expect(alertingLabels(undefined)).toEqual(new Set());
    expect(
      alertingLabels({
        labels: [
          { environment: 'a', alerting: true },
          { environment: 'b', alerting: false },
        ],
      }),
    ).toEqual(new Set(['a']));
  });

  it('formats the texts', () => {
    const stale = freshnessText(
      { kind: 'stale', environment: 'production', maxAge: '26h', ageMs: 2 * 86_400_000 + 3_600_000, last: last('2025-10-20T11:00:00Z') },
      'UTC',
    );
    expect(stale).toBe(
      '⚠️ No recent database backup\n• Environment: production\n• Last successful backup: 2025-10-20 11:00 UTC (2d 1h ago)\n• Expected within: 26h',
    );
    expect(freshnessText({ kind: 'stale', environment: 'production', maxAge: '26h' }, 'UTC')).toContain('• Last successful backup: never');
    expect(freshnessText({ kind: 'fresh-again', environment: 'production', ageMs: 300_000, last: last('2025-10-22T11:55:00Z') }, 'UTC')).toBe(
      '✅ Database backups are fresh again\n• Environment: production\n• Latest: db_production_20251021_030000.sql.gz (5m ago)',
    );
    expect([formatAge(45_000), formatAge(26 * 3_600_000), formatAge(26 * 3_600_000 + 300_000), formatAge(50 * 3_600_000)]).toEqual([
      '45s',
      '26h',
      '26h 5m',
      '2d 2h',
    ]);
  });

  it('configuration: defaults, and errors naming the variable', () => {
    expect(loadFreshnessScheduleConfig({})).toEqual({
      scheduleId: 'backup-freshness-check',
      environments: ['production'],
      maxAgeMs: 26 * 3_600_000,
      maxAge: '26h',
      intervalMs: 3_600_000,
      // The backup workers' own queue: they serve the check with the Worker they already run.
      taskQueue: 'backups',
    });
    expect(loadFreshnessScheduleConfig({ BACKUP_TASK_QUEUE: 'db-backups' }).taskQueue).toBe('db-backups');
    expect(loadFreshnessScheduleConfig({ BACKUP_WATCHDOG_TASK_QUEUE: 'backup-watchdog' }).taskQueue).toBe('backup-watchdog');
    expect(loadFreshnessScheduleConfig({ BACKUP_ENVIRONMENTS: 'a, b', BACKUP_ENVIRONMENT: 'x' }).environments).toEqual(['a', 'b']);
    for (const [env, variable] of [
      [{ BACKUP_MAX_AGE: 'a day' }, 'BACKUP_MAX_AGE'],
      [{ BACKUP_ENVIRONMENTS: 'a,../b' }, 'BACKUP_ENVIRONMENTS'],
      [{ BACKUP_FRESHNESS_INTERVAL: '0' }, 'BACKUP_FRESHNESS_INTERVAL'],
    ] as const) {
      expect(() => loadFreshnessScheduleConfig(env)).toThrow(ConfigError);
      expect(() => loadFreshnessScheduleConfig(env)).toThrow(new RegExp(`^${variable}: `));
    }
    expect(() => loadWatchdogConfig({ SLACK_WEBHOOK_URL: 'not a url' })).toThrow(/^SLACK_WEBHOOK_URL: /);
  });

  it("a watchdog process of its own refuses the backup workers' queue (it would take backup tasks it cannot run)", () => {
    for (const env of [{}, { BACKUP_TASK_QUEUE: 'q', BACKUP_WATCHDOG_TASK_QUEUE: 'q' }]) {
      expect(() => loadStandaloneWatchdogConfig(env)).toThrow(/^BACKUP_WATCHDOG_TASK_QUEUE: a separate watchdog needs a task queue of its own/);
    }
    expect(loadStandaloneWatchdogConfig({ BACKUP_WATCHDOG_TASK_QUEUE: 'backup-watchdog' }).taskQueue).toBe('backup-watchdog');
  });
});
