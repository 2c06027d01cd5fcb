import type { RetentionPolicy } from '../retention/plan';
import { option, type Env } from './registry';

/** BACKUP_KEEP_LAST (7), BACKUP_KEEP_DAILY / _WEEKLY / _MONTHLY (0). KEEP_LAST=0 turns pruning off. */
export function loadRetentionPolicy(env: Env): RetentionPolicy {
  return {
    last: option(env, 'BACKUP_KEEP_LAST'),
    daily: option(env, 'BACKUP_KEEP_DAILY'),
    weekly: option(env, 'BACKUP_KEEP_WEEKLY'),
    monthly: option(env, 'BACKUP_KEEP_MONTHLY'),
  };
}
