import { IncomingWebhook, type IncomingWebhookHTTPError } from '@slack/webhook';
import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../config/redact';

const SLACK_TIMEOUT_MS = 10_000;

/**
 * Posts `text` to a Slack incoming webhook. Failures become Temporal failures whose message
 * holds no secret (the webhook URL is one): 4xx other than 429 (a bad or revoked webhook) will
 * not fix itself and is non-retryable; 429, 5xx and network errors are retried by the policy.
 */
export async function postToSlack(webhookUrl: string, text: string, secrets: readonly string[]): Promise<void> {
  try {
    await new IncomingWebhook(webhookUrl, { timeout: SLACK_TIMEOUT_MS }).send({ text });
  } catch (err) {
    const message = `Slack notification failed: ${redact((err as Error).message, [webhookUrl, ...secrets])}`;
    const status = (err as IncomingWebhookHTTPError).statusCode;
    if (status && status >= 400 && status < 500 && status !== 429) throw ApplicationFailure.nonRetryable(message, 'SlackRejected');
    throw ApplicationFailure.retryable(message, 'SlackUnavailable');
  }
}
