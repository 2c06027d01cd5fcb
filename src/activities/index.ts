import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { WorkerConfig } from '../config';
import type { SearchAttributeGate } from '../temporal/search-attribute-gate';
import { makeCompress } from './compress';
import { makeDump } from './dump';
import { makeNotify } from './notify';
import { makeResolveSettings } from './settings';
import { stat } from './stat';
import { makeVerify } from './verify';
import { makePrune } from './prune';
import { createCopyActivities } from './copy';
import { makeEncrypt } from './encrypt';
import { makeSaveRoles } from './roles';
import { heartbeating } from './progress';
import { makeProgressEnricher } from './progress-report';
import { leftoverOptions, makeDiscardRun } from './run-files';

/**
 * Steps that touch the backup file: served on this host's own task queue only. Each heartbeats
 * for its whole life, with percent and time left; with a client, it also tells its workflow.
 */
export function createFileActivities(config: WorkerConfig, client?: Client) {
  const steps = {
    dump: makeDump(config, client),
    compress: makeCompress(config),
    verify: makeVerify(config),
    encrypt: config.encryption ? makeEncrypt(config.encryption) : encryptionNotConfigured,
    stat,
    saveRoles: makeSaveRoles(config),
    ...createCopyActivities(config.copies, { secrets: config.secrets }, client && leftoverOptions(config, client)),
    prune: makePrune(config),
    discardRun: makeDiscardRun(config, client),
  };
  const progress = makeProgressEnricher({ client, timeZone: config.timeZone, minIntervalMs: config.progressIntervalMs });
  return Object.fromEntries(
    Object.entries(steps).map(([name, step]) => [name, heartbeating(step as (...args: unknown[]) => Promise<unknown>, progress)]),
  ) as typeof steps;
}

/** Steps any worker can run: served on the shared task queue. The gate says whether runs may tag themselves (search attributes). */
export function createSharedActivities(config: WorkerConfig, searchAttributes?: Pick<SearchAttributeGate, 'allowsUpserts'>) {
  return { notify: makeNotify(config), resolveSettings: makeResolveSettings(config, searchAttributes) };
}

export type FileActivities = ReturnType<typeof createFileActivities>;
export type SharedActivities = ReturnType<typeof createSharedActivities>;

/** Registered so the activity type exists on every host; a run only calls it when its worker said encryption is on. */
async function encryptionNotConfigured(): Promise<never> {
  throw ApplicationFailure.nonRetryable('encryption is not configured on this worker (BACKUP_AGE_RECIPIENTS)', 'EncryptionNotConfigured');
}
