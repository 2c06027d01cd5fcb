import type { RetentionPolicy } from '../retention/plan';
import { ConfigError } from './config-error';

/** BACKUP_KEEP_LAST (7), BACKUP_KEEP_DAILY / _WEEKLY / _MONTHLY (0). KEEP_LAST=0 turns pruning off. */
export function loadRetentionPolicy(env: NodeJS.ProcessEnv): RetentionPolicy {
  return {
    last: count(env, 'BACKUP_KEEP_LAST', 7),
    daily: count(env, 'BACKUP_KEEP_DAILY', 0),
    weekly: count(env, 'BACKUP_KEEP_WEEKLY', 0),
    monthly: count(env, 'BACKUP_KEEP_MONTHLY', 0),
  };
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 100_000) {
    throw new ConfigError(name, `expected a whole number of backups to keep (0 or more), got ${JSON.stringify(raw)}`);
  }
  return value;
}
