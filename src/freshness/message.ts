import { formatAge, type FreshnessNotice } from './state';

/** The Slack texts, in the style of the backup messages: a headline, then one line per field. */
export function freshnessText(notice: FreshnessNotice, timeZone: string): string {
  if (notice.kind === 'stale') {
    const last = notice.last ? `${localTime(notice.last.closedAt, timeZone)} (${formatAge(notice.ageMs ?? 0)} ago)` : 'never';
    return [
      '⚠️ No recent database backup',
      `• Environment: ${escape(notice.environment)}`,
      `• Last successful backup: ${last}`,
      `• Expected within: ${escape(notice.maxAge)}`,
    ].join('\n');
  }
  const what = notice.last.fileName ? escape(notice.last.fileName) : `run ${escape(notice.last.workflowId)}`;
  return ['✅ Database backups are fresh again', `• Environment: ${escape(notice.environment)}`, `• Latest: ${what} (${formatAge(notice.ageMs)} ago)`].join(
    '\n',
  );
}

/** `2025-10-21 03:04 UTC`: local time, as the operators read the schedule's times. */
export function localTime(iso: string, timeZone: string): string {
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(iso));
  return `${local} ${timeZone}`;
}

/** Slack's mrkdwn needs only these three escaped. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
