import type { Client } from '@temporalio/client';
import type { WatchdogConfig } from '../config/freshness';
import { makeFindLastBackups } from './freshness-lookup';
import { makeNotifyFreshness } from './freshness-notify';

/** The watchdog's activities: it needs a Temporal client (to look at backup runs) and the webhook, no database. */
export function createFreshnessActivities(config: WatchdogConfig, client: Client) {
  return { findLastBackups: makeFindLastBackups(client), notifyFreshness: makeNotifyFreshness(config) };
}

export type FreshnessActivities = ReturnType<typeof createFreshnessActivities>;
