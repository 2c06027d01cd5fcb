import { ConfigError } from './config-error';
import { environmentsOf } from './labels';
import { option, optionAsWritten, type Env } from './registry';

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

export function loadFreshnessScheduleConfig(env: Env): FreshnessScheduleConfig {
  return {
    scheduleId: option(env, 'BACKUP_FRESHNESS_SCHEDULE_ID'),
    environments: environmentsOf(env),
    maxAgeMs: option(env, 'BACKUP_MAX_AGE'),
    maxAge: optionAsWritten(env, 'BACKUP_MAX_AGE')!,
    intervalMs: option(env, 'BACKUP_FRESHNESS_INTERVAL'),
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

export function loadWatchdogConfig(env: Env): WatchdogConfig {
  return { taskQueue: watchdogTaskQueue(env), slackWebhookUrl: option(env, 'SLACK_WEBHOOK_URL'), timeZone: option(env, 'BACKUP_TIMEZONE') };
}

/** `watchdog`'s settings: as a worker's, but the check must have a queue of its own. */
export function loadStandaloneWatchdogConfig(env: Env): WatchdogConfig {
  const config = loadWatchdogConfig(env);
  if (config.taskQueue === option(env, 'BACKUP_TASK_QUEUE')) {
    // On the backup workers' queue it would take backup workflow tasks it cannot run.
    throw new ConfigError(
      'BACKUP_WATCHDOG_TASK_QUEUE',
      `a separate watchdog needs a task queue of its own (e.g. backup-watchdog), not the backup workers' ${JSON.stringify(config.taskQueue)}; ` +
        'set the same value where `pg-backup-workflow schedule apply` runs',
    );
  }
  return config;
}

/**
 * By default the check runs on the backup workers' shared queue, so they serve it with the
 * Worker they already run (a second Worker would cost its own workflow sandbox, some 45 MB).
 * A watchdog on another host (`watchdog`) needs a queue of its own.
 */
export function watchdogTaskQueue(env: Env): string {
  return option(env, 'BACKUP_WATCHDOG_TASK_QUEUE') ?? option(env, 'BACKUP_TASK_QUEUE');
}
