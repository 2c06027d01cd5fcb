import { humanSize } from '../common/human-size';
import { localTime } from '../common/time-format';
import type { NotifyInput } from '../common/types';
import { formatAge, type FreshnessNotice } from '../freshness/state';

/** The old job's exact texts, one line per field. */
export function slackText(input: NotifyInput): string {
  if (input.outcome === 'success') {
    return [
      '✅ Database backup completed successfully',
      `• Environment: ${escape(input.environment)}`,
      `• File: ${escape(input.fileName)}`,
      `• Size: ${humanSize(input.sizeBytes)}`,
      ...(input.verification
        ? [`• Verified: restored and compared, ${input.verification.tables} tables and ${input.verification.rows.toLocaleString('en-US')} rows match`]
        : []),
      ...(input.copies?.length ? [`• Copies: ${input.copies.map(escape).join(', ')}`] : []),
    ].join('\n');
  }
  return ['🔴 Database backup failed', `• Environment: ${escape(input.environment)}`, `• Error: ${escape(input.error)}`].join('\n');
}

/** The freshness alarm's texts, in the style of the backup messages: a headline, then one line per field. */
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

/** Slack's mrkdwn needs only these three escaped. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
