import { IncomingWebhook, type IncomingWebhookHTTPError } from '@slack/webhook';
import { ApplicationFailure, log } from '@temporalio/activity';
import { secretsOf, type WorkerConfig } from '../config';
import { redact } from '../config/redact';
import type { NotifyInput, NotifyOutput } from '../common/types';
import { slackText } from './slack-message';

const SLACK_TIMEOUT_MS = 10_000;

/** `notify`: posts the success or failure message to Slack; skipped when SLACK_WEBHOOK_URL is unset. */
export function makeNotify(config: WorkerConfig) {
  return async function notify(input: NotifyInput): Promise<NotifyOutput> {
    if (!config.slackWebhookUrl) {
      log.info('SLACK_WEBHOOK_URL is not set: notification skipped', { outcome: input.outcome });
      return { status: 'skipped' };
    }
    const webhook = new IncomingWebhook(config.slackWebhookUrl, { timeout: SLACK_TIMEOUT_MS });
    try {
      await webhook.send({ text: slackText(input) });
      return { status: 'sent' };
    } catch (err) {
      // The webhook URL is itself a secret: keep it out of the message.
      const message = `Slack notification failed: ${redact((err as Error).message, secretsOf(config))}`;
      const status = (err as IncomingWebhookHTTPError).statusCode;
      // 4xx (bad or revoked webhook) will not fix itself; 429, 5xx and network errors might.
      if (status && status >= 400 && status < 500 && status !== 429) {
        throw ApplicationFailure.nonRetryable(message, 'SlackRejected');
      }
      throw ApplicationFailure.retryable(message, 'SlackUnavailable');
    }
  };
}
