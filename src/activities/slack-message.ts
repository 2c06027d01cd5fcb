import { humanSize } from '../common/human-size';
import type { NotifyInput } from '../common/types';

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

/** Slack's mrkdwn needs only these three escaped. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
