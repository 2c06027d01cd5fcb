import { log } from '@temporalio/activity';
import type { WatchdogConfig } from '../config/freshness';
import { freshnessText } from '../notify/messages';
import type { FreshnessNotice } from '../freshness/state';
import type { NotifyOutput } from '../common/types';
import { postToSlack } from '../notify/slack';

/** `notifyFreshness`: posts a stale / fresh-again message, the same way `notify` posts (same webhook, same retry rules). */
export function makeNotifyFreshness(config: WatchdogConfig) {
  return async function notifyFreshness(notice: FreshnessNotice): Promise<NotifyOutput> {
    if (!config.slackWebhookUrl) {
      log.info('SLACK_WEBHOOK_URL is not set: freshness notification skipped', { kind: notice.kind, environment: notice.environment });
      return { status: 'skipped' };
    }
    await postToSlack(config.slackWebhookUrl, freshnessText(notice, config.timeZone), []);
    return { status: 'sent' };
  };
}
