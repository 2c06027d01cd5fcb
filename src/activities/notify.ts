import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../config';
import { redact } from '../config/redact';
import type { NotifyInput, NotifyOutput } from '../common/types';
import { slackText } from '../notify/messages';
import { postToSlack } from '../notify/slack';

/** `notify`: posts the success or failure message to Slack; skipped when SLACK_WEBHOOK_URL is unset. */
export function makeNotify(config: WorkerConfig) {
  return async function notify(input: NotifyInput): Promise<NotifyOutput> {
    if (!config.slackWebhookUrl) {
      log.info('SLACK_WEBHOOK_URL is not set: notification skipped', { outcome: input.outcome });
      return { status: 'skipped' };
    }
    // Backstop: whatever text a failure carried, no known secret or URI credential goes to Slack.
    await postToSlack(config.slackWebhookUrl, redact(slackText(input), config.secrets), config.secrets);
    return { status: 'sent' };
  };
}
