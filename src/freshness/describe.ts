import type { Client } from '@temporalio/client';
import { localTime } from '../common/time-format';
import type { FreshnessScheduleConfig } from '../config/freshness';
import { formatAge, type FreshnessResult } from './state';

export interface FreshnessDescription {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  nextCheck: string | null;
  /** The newest finished check's result, per label; null when none finished yet. */
  latest: FreshnessResult | null;
}

/** Settings, then each label's state as the latest finished check saw it. */
export async function describeFreshness(client: Client, config: FreshnessScheduleConfig): Promise<FreshnessDescription> {
  const d = await client.schedule.getHandle(config.scheduleId).describe();
  let latest: FreshnessResult | null = null;
  for (const { action } of [...d.info.recentActions].reverse()) {
    latest = await client.workflow
      .getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId)
      .result()
      .then((r) => r as FreshnessResult)
      .catch(() => null);
    if (latest) break;
  }
  return {
    scheduleId: config.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextCheck: d.info.nextActionTimes[0]?.toISOString() ?? null,
    latest,
  };
}

export function formatFreshness(d: FreshnessDescription, timeZone: string): string {
  const lines = [`schedule ${d.scheduleId}: ${d.paused ? 'PAUSED' : 'active'}${d.note ? ` (note: ${d.note})` : ''}`, `  next check:  ${d.nextCheck ?? '-'}`];
  if (!d.latest) return [...lines, '  latest check: none finished yet'].join('\n');
  lines.push(`  latest check: ${d.latest.checkedAt}`);
  for (const l of d.latest.labels) {
    const last = l.last ? `${localTime(l.last.closedAt, timeZone)} (${formatAge(l.ageMs ?? 0)} ago)${l.last.fileName ? ` ${l.last.fileName}` : ''}` : 'never';
    lines.push(`    ${l.environment.padEnd(16)} ${l.fresh ? 'fresh' : 'STALE'}${l.alerting ? ' (alerted)' : ''}  last success: ${last}`);
  }
  return lines.join('\n');
}
