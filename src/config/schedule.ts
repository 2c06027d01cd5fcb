import { environmentsOf } from './labels';
import { isSet, option, type Env } from './registry';

/** One Schedule: which environment label it backs up, under which ids. */
export interface BackupScheduleTarget {
  scheduleId: string;
  environment: string;
  /** Prefix of each run's workflow id; Temporal appends the scheduled time. */
  workflowIdPrefix: string;
}

/** The daily Schedule(s), read from the environment and validated before Temporal is contacted. */
export interface ScheduleConfig {
  targets: BackupScheduleTarget[];
  /** Task queue the backup workers poll (BACKUP_TASK_QUEUE, as the worker reads it). */
  taskQueue: string;
  /** Local time of day, `HH:MM`. */
  time: string;
  hour: number;
  minute: number;
  /** IANA zone the calendar is evaluated in (the Schedule's timezoneName), canonically spelled. */
  timeZone: string;
  catchupWindowMs: number;
}

export function loadScheduleConfig(env: Env): ScheduleConfig {
  const baseId = option(env, 'BACKUP_SCHEDULE_ID');
  const { hour, minute, time } = option(env, 'BACKUP_SCHEDULE_TIME');
  const several = isSet(env, 'BACKUP_ENVIRONMENTS');
  return {
    // One schedule per label when several are listed, each with an id of its own.
    targets: environmentsOf(env).map((environment) => target(several ? `${baseId}-${environment}` : baseId, environment)),
    taskQueue: option(env, 'BACKUP_TASK_QUEUE'),
    time,
    hour,
    minute,
    timeZone: option(env, 'BACKUP_TIMEZONE'),
    catchupWindowMs: option(env, 'BACKUP_CATCHUP_WINDOW'),
  };
}

function target(scheduleId: string, environment: string): BackupScheduleTarget {
  return { scheduleId, environment, workflowIdPrefix: `backup-${environment}` };
}
