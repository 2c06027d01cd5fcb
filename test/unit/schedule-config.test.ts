import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config';
import { loadScheduleConfig } from '../../src/config/schedule';

describe('schedule configuration', () => {
  it('defaults to one schedule "daily-database-backup" at 03:00 UTC for production, catch-up 1h', () => {
    expect(loadScheduleConfig({})).toEqual({
      targets: [{ scheduleId: 'daily-database-backup', environment: 'production', workflowIdPrefix: 'backup-production' }],
      taskQueue: 'backups',
      time: '03:00',
      hour: 3,
      minute: 0,
      timeZone: 'UTC',
      catchupWindowMs: 3_600_000,
    });
  });

  it('makes one schedule per label of BACKUP_ENVIRONMENTS', () => {
    const config = loadScheduleConfig({ BACKUP_ENVIRONMENTS: 'production, staging', BACKUP_SCHEDULE_ID: 'nightly', BACKUP_TASK_QUEUE: 'q' });
    expect(config.targets).toEqual([
      { scheduleId: 'nightly-production', environment: 'production', workflowIdPrefix: 'backup-production' },
      { scheduleId: 'nightly-staging', environment: 'staging', workflowIdPrefix: 'backup-staging' },
    ]);
    expect(config.taskQueue).toBe('q');
  });

  it('sends the canonical zone name and a zero-padded time', () => {
    expect(loadScheduleConfig({ BACKUP_TIMEZONE: 'europe/berlin', BACKUP_SCHEDULE_TIME: '4:05' })).toMatchObject({
      timeZone: 'Europe/Berlin',
      time: '04:05',
      hour: 4,
      minute: 5,
    });
  });

  it.each([
    [{ BACKUP_SCHEDULE_TIME: '24:00' }, 'BACKUP_SCHEDULE_TIME'],
    [{ BACKUP_SCHEDULE_TIME: '3am' }, 'BACKUP_SCHEDULE_TIME'],
    [{ BACKUP_SCHEDULE_TIME: '03:60' }, 'BACKUP_SCHEDULE_TIME'],
    [{ BACKUP_TIMEZONE: 'Mars/Olympus' }, 'BACKUP_TIMEZONE'],
    [{ BACKUP_CATCHUP_WINDOW: 'soon' }, 'BACKUP_CATCHUP_WINDOW'],
    [{ BACKUP_CATCHUP_WINDOW: '5s' }, 'BACKUP_CATCHUP_WINDOW'],
    [{ BACKUP_ENVIRONMENT: '../etc' }, 'BACKUP_ENVIRONMENT'],
    [{ BACKUP_ENVIRONMENTS: 'production,,staging' }, 'BACKUP_ENVIRONMENTS'],
    [{ BACKUP_ENVIRONMENTS: 'production,production' }, 'BACKUP_ENVIRONMENTS'],
    [{ BACKUP_SCHEDULE_ID: 'daily backup' }, 'BACKUP_SCHEDULE_ID'],
  ])('rejects bad settings naming the variable (%j)', (env, variable) => {
    let error: unknown;
    try {
      loadScheduleConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });
});
