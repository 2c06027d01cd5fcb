import { log } from '@temporalio/activity';
import type { WorkerConfig } from '../config';
import type { PruneInput, PruneOutput } from '../common/types';
import { applyLocalPrune, planLocalPrune } from '../retention/local';

/**
 * `prune`: applies the retention policy to this database's and label's backups in BACKUP_DIR
 * and on each off-host target. The workflow calls it only after the new backup succeeded,
 * was verified and reached every target, and the new file is always kept, so the newest good
 * backup is never removed.
 */
export function makePrune(config: WorkerConfig) {
  return async function prune({ database, environment, keep }: PruneInput): Promise<PruneOutput[]> {
    const results: PruneOutput[] = [];
    for (const directory of [config.backupDir, ...(config.copies.localDir ? [config.copies.localDir] : [])]) {
      const plan = await planLocalPrune(directory, database, environment, config.retention, [keep]);
      await applyLocalPrune(plan);
      results.push({ target: `dir:${directory}`, kept: plan.keep.length, removed: plan.remove });
    }
    if (config.copies.s3) {
      // Loaded here, not at start: workers without S3 never pay for the AWS SDK.
      const [{ applyS3Prune, planS3Prune }, { s3ClientFor }] = await Promise.all([import('../retention/s3'), import('../s3/client')]);
      const client = s3ClientFor(config.copies.s3);
      try {
        const plan = await planS3Prune(client, config.copies.s3, database, environment, config.retention, [keep]);
        await applyS3Prune(client, config.copies.s3, plan);
        results.push({ target: plan.target, kept: plan.keep.length, removed: plan.remove });
      } finally {
        client.destroy();
      }
    }
    for (const r of results) if (r.removed.length) log.info('pruned old backups', { target: r.target, removed: r.removed });
    return results;
  };
}
