import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../config';
import type { PruneInput, PruneOutput } from '../common/types';
import { applyLocalPrune, planLocalPrune } from '../retention/local';

/**
 * `prune`: applies the retention policy to this database's and label's backups in BACKUP_DIR.
 * The workflow calls it only after the new backup succeeded (and was verified), and the new
 * file is always kept, so the newest good backup is never removed.
 */
export function makePrune(config: WorkerConfig) {
  return async function prune({ database, environment, keep }: PruneInput): Promise<PruneOutput> {
    const plan = await planLocalPrune(config.backupDir, database, environment, config.retention, [keep]);
    await applyLocalPrune(plan);
    if (plan.remove.length) log.info('pruned old backups', { directory: config.backupDir, removed: plan.remove });
    return { target: `dir:${config.backupDir}`, kept: plan.keep.length, removed: plan.remove };
  };
}
