import { labelProblem } from '../common/label';
import { isKnownTimeZone } from '../common/timestamp';
import { ConfigError } from './config-error';

/** The variable's value with surrounding white space removed; undefined when unset or blank. */
export function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** The shared queue the backup workers poll (BACKUP_TASK_QUEUE): workflows, notifications and, by default, the freshness check. */
export function backupTaskQueue(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env, 'BACKUP_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE;
}

export const DEFAULT_TASK_QUEUE = 'backups';

/** SLACK_WEBHOOK_URL, checked: undefined means notifications are skipped. */
export function slackWebhookUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  const url = nonEmpty(env, 'SLACK_WEBHOOK_URL');
  if (url && !/^https?:\/\/[^\s]+$/i.test(url)) {
    throw new ConfigError('SLACK_WEBHOOK_URL', 'must be an http(s) URL (the incoming-webhook URL Slack gave you)');
  }
  return url;
}

/** BACKUP_TIMEZONE, checked against the runtime's IANA zone names. */
export function timeZoneFrom(env: NodeJS.ProcessEnv, fallback: string): string {
  const timeZone = nonEmpty(env, 'BACKUP_TIMEZONE') ?? fallback;
  if (!isKnownTimeZone(timeZone)) {
    throw new ConfigError('BACKUP_TIMEZONE', `unknown IANA time zone ${JSON.stringify(timeZone)} (e.g. UTC, Europe/Berlin, Asia/Seoul)`);
  }
  return timeZone;
}

/** The label a command works on when none is given: BACKUP_ENVIRONMENT, else production. */
export function defaultEnvironment(env: NodeJS.ProcessEnv): string {
  return nonEmpty(env, 'BACKUP_ENVIRONMENT') ?? 'production';
}

/** BACKUP_ENVIRONMENTS (comma list), else BACKUP_ENVIRONMENT, else production: the labels the daily schedules back up. */
export function environmentsOf(env: NodeJS.ProcessEnv): string[] {
  const list = nonEmpty(env, 'BACKUP_ENVIRONMENTS');
  const variable = list ? 'BACKUP_ENVIRONMENTS' : 'BACKUP_ENVIRONMENT';
  const labels = list ? list.split(',').map((s) => s.trim()) : [defaultEnvironment(env)];
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) throw new ConfigError(variable, problem);
  }
  return [...new Set(labels)];
}
