import { labelProblem } from '../common/label';
import { isKnownTimeZone } from '../common/timestamp';
import { DEFAULTS as WORKER_DEFAULTS } from '../config';
import { ConfigError } from '../config/config-error';
import { backupTaskQueue, defaultEnvironment, nonEmpty } from '../config/env';
import { parseDuration } from '../config/durations';

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
  /** IANA zone the calendar is evaluated in (the Schedule's timezoneName). */
  timeZone: string;
  catchupWindowMs: number;
}

export const SCHEDULE_DEFAULTS = {
  scheduleId: 'daily-database-backup',
  time: '03:00',
  timeZone: 'UTC',
  catchupWindow: '1h',
  // Same queue the workers poll unless BACKUP_TASK_QUEUE says otherwise.
  taskQueue: WORKER_DEFAULTS.taskQueue,
} as const;

/** Temporal silently raises shorter catch-up windows to this, so reject them instead. */
const MIN_CATCHUP_WINDOW_MS = 10_000;
const SCHEDULE_ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

export function loadScheduleConfig(env: NodeJS.ProcessEnv = process.env): ScheduleConfig {
  const baseId = nonEmpty(env, 'BACKUP_SCHEDULE_ID') ?? SCHEDULE_DEFAULTS.scheduleId;
  if (!SCHEDULE_ID_PATTERN.test(baseId)) {
    throw new ConfigError('BACKUP_SCHEDULE_ID', `use 1 to 200 characters from A-Z a-z 0-9 . _ -, got ${JSON.stringify(baseId)}`);
  }

  const { hour, minute, time } = parseTimeOfDay(nonEmpty(env, 'BACKUP_SCHEDULE_TIME') ?? SCHEDULE_DEFAULTS.time);

  const rawZone = nonEmpty(env, 'BACKUP_TIMEZONE') ?? SCHEDULE_DEFAULTS.timeZone;
  if (!isKnownTimeZone(rawZone)) {
    throw new ConfigError('BACKUP_TIMEZONE', `unknown IANA time zone ${JSON.stringify(rawZone)} (e.g. UTC, Europe/Berlin, Asia/Seoul)`);
  }
  // The server matches zone names case-sensitively; Intl accepts "europe/berlin", so send its canonical spelling.
  const timeZone = new Intl.DateTimeFormat('en-US', { timeZone: rawZone }).resolvedOptions().timeZone;

  const catchupWindowMs = parseDuration('BACKUP_CATCHUP_WINDOW', env.BACKUP_CATCHUP_WINDOW?.trim() || SCHEDULE_DEFAULTS.catchupWindow);
  if (catchupWindowMs < MIN_CATCHUP_WINDOW_MS) {
    throw new ConfigError('BACKUP_CATCHUP_WINDOW', `must be at least 10s (Temporal's minimum), got ${JSON.stringify(env.BACKUP_CATCHUP_WINDOW)}`);
  }

  const list = nonEmpty(env, 'BACKUP_ENVIRONMENTS');
  const targets = list
    ? environmentList(list).map((environment) => target(`${baseId}-${environment}`, environment))
    : [target(baseId, checkedLabel('BACKUP_ENVIRONMENT', defaultEnvironment(env)))];

  return {
    targets,
    taskQueue: backupTaskQueue(env),
    time,
    hour,
    minute,
    timeZone,
    catchupWindowMs,
  };
}

function target(scheduleId: string, environment: string): BackupScheduleTarget {
  return { scheduleId, environment, workflowIdPrefix: `backup-${environment}` };
}

/** `HH:MM` on a 24-hour clock; a one-digit hour ("3:00") is accepted too. */
function parseTimeOfDay(raw: string): { hour: number; minute: number; time: string } {
  const match = /^(\d{1,2}):(\d{2})$/.exec(raw);
  const hour = match ? Number(match[1]) : NaN;
  const minute = match ? Number(match[2]) : NaN;
  if (!(hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59)) {
    throw new ConfigError('BACKUP_SCHEDULE_TIME', `expected a 24-hour time of day HH:MM like 03:00 or 23:30, got ${JSON.stringify(raw)}`);
  }
  return { hour, minute, time: `${String(hour).padStart(2, '0')}:${match![2]}` };
}

function environmentList(raw: string): string[] {
  const labels = raw.split(',').map((s) => s.trim());
  const seen = new Set<string>();
  for (const label of labels) {
    checkedLabel('BACKUP_ENVIRONMENTS', label);
    // Two schedules with one id cannot exist; say so rather than silently merging them.
    if (seen.has(label)) throw new ConfigError('BACKUP_ENVIRONMENTS', `lists ${JSON.stringify(label)} twice`);
    seen.add(label);
  }
  return labels;
}

function checkedLabel(variable: string, label: string): string {
  const problem = labelProblem(label);
  if (problem) throw new ConfigError(variable, problem);
  return label;
}
