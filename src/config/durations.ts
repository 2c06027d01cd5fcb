import { msToNumber } from '@temporalio/common/lib/time';
import { ConfigError } from './config-error';

/** Parses a duration the way Temporal's own options do (`5m`, `30s`, `1h`, or milliseconds). */
export function parseDuration(variable: string, raw: string): number {
  let ms: number;
  try {
    ms = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : msToNumber(raw.trim() as `${number}s`);
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new ConfigError(variable, `expected a positive duration like 30s, 5m or 1h, got ${JSON.stringify(raw)}`);
  }
  return ms;
}
