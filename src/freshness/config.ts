import { backupTaskQueue, environmentsOf, nonEmpty, slackWebhookUrlFrom, timeZoneFrom } from '../config/env';
import { ConfigError } from '../config/config-error';
import { parseDuration } from '../config/durations';

export const FRESHNESS_DEFAULTS = {
  scheduleId: 'backup-freshness-check',
  maxAge: '26h',
  interval: '1h',
  timeZone: 'UTC',
} as const;

/**
 * Missed checks (Temporal itself down) still run when it is back, however long it was down: the
 * overlap policy SKIP collapses them into one check. A check that no watchdog picks up simply
 * waits in its queue and runs the moment a watchdog polls again.
 */
export const FRESHNESS_CATCHUP_WINDOW_MS = 365 * 24 * 3_600_000;

/** The freshness Schedule, read from the environment and validated before Temporal is contacted. */
export interface FreshnessScheduleConfig {
  scheduleId: string;
  environments: string[];
  maxAgeMs: number;
  /** BACKUP_MAX_AGE as written, shown in messages. */
  maxAge: string;
  intervalMs: number;
  /** Where the check runs (BACKUP_WATCHDOG_TASK_QUEUE, by default the backup workers' own BACKUP_TASK_QUEUE). */
  taskQueue: string;
}

export function loadFreshnessScheduleConfig(env: NodeJS.ProcessEnv = process.env): FreshnessScheduleConfig {
  const scheduleId = nonEmpty(env, 'BACKUP_FRESHNESS_SCHEDULE_ID') ?? FRESHNESS_DEFAULTS.scheduleId;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(scheduleId)) {
    throw new ConfigError('BACKUP_FRESHNESS_SCHEDULE_ID', `use 1 to 200 characters from A-Z a-z 0-9 . _ -, got ${JSON.stringify(scheduleId)}`);
  }
  const maxAge = nonEmpty(env, 'BACKUP_MAX_AGE') ?? FRESHNESS_DEFAULTS.maxAge;
  return {
    scheduleId,
    environments: environmentsOf(env),
    maxAgeMs: parseDuration('BACKUP_MAX_AGE', maxAge),
    maxAge,
    intervalMs: parseDuration('BACKUP_FRESHNESS_INTERVAL', nonEmpty(env, 'BACKUP_FRESHNESS_INTERVAL') ?? FRESHNESS_DEFAULTS.interval),
    taskQueue: watchdogTaskQueue(env),
  };
}

/** The watchdog worker's own settings: no database, only where to poll and where to post. */
export interface WatchdogConfig {
  taskQueue: string;
  slackWebhookUrl?: string;
  /** Zone the times in messages are shown in (BACKUP_TIMEZONE). */
  timeZone: string;
}

export function loadWatchdogConfig(env: NodeJS.ProcessEnv = process.env): WatchdogConfig {
  const slackWebhookUrl = slackWebhookUrlFrom(env);
  const timeZone = timeZoneFrom(env, FRESHNESS_DEFAULTS.timeZone);
  return { taskQueue: watchdogTaskQueue(env), slackWebhookUrl, timeZone };
}

/** `npm run watchdog`'s settings: as a worker's, but the check must have a queue of its own. */
export function loadStandaloneWatchdogConfig(env: NodeJS.ProcessEnv = process.env): WatchdogConfig {
  const config = loadWatchdogConfig(env);
  if (config.taskQueue === backupTaskQueue(env)) {
    // On the backup workers' queue it would take backup workflow tasks it cannot run.
    throw new ConfigError(
      'BACKUP_WATCHDOG_TASK_QUEUE',
      `a separate watchdog needs a task queue of its own (e.g. backup-watchdog), not the backup workers' ${JSON.stringify(config.taskQueue)}; ` +
        'set the same value where `npm run schedule apply` runs',
    );
  }
  return config;
}

/**
 * By default the check runs on the backup workers' shared queue, so they serve it with the
 * Worker they already run (a second Worker would cost its own workflow sandbox, some 45 MB).
 * A watchdog on another host (`npm run watchdog`) needs a queue of its own.
 */
export function watchdogTaskQueue(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env, 'BACKUP_WATCHDOG_TASK_QUEUE') ?? backupTaskQueue(env);
}
