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
