import type { WorkerConfig } from '../config';
import type { BackupSettings } from '../common/types';
import { copyTargetsOf } from '../config/copies';
import type { SearchAttributeGate } from '../temporal/search-attribute-gate';

/**
 * Local activity: hands the workflow the worker's settings (it cannot read the environment)
 * and this process's own task queue, where the run's file steps will go. Nothing secret.
 */
export function makeResolveSettings(config: WorkerConfig, searchAttributes?: Pick<SearchAttributeGate, 'allowsUpserts'>) {
  return async function resolveSettings(): Promise<BackupSettings> {
    return {
      timeZone: config.timeZone,
      hostTaskQueue: config.hostTaskQueue,
      activity: config.policy,
      verify: config.verify.enabled,
      prune: config.retention.last > 0,
      encrypt: !!config.encryption,
      copyTargets: copyTargetsOf(config.copies),
      // Both steps of a run hold a slot at once; with one slot the compress would wait for nothing.
      compressWhileDumping: config.hostConcurrency >= 2,
      // Dump, compress and verify hold three at once.
      verifyWhileCompressing: config.verify.enabled && config.hostConcurrency >= 3,
      rolesSidecar: true,
      // Recorded with the rest (a local activity's result is history), so a replay decides the same way.
      searchAttributes: (await searchAttributes?.allowsUpserts()) ?? false,
    };
  };
}
