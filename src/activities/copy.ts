import { ApplicationFailure } from '@temporalio/activity';
import type { CopyConfig } from '../config/copies';
import type { CopyInput, CopyOutput } from './copy-common';
import { makeCopyToDirectory } from './copy-dir';
import { makeCopyToS3, type S3CopyOptions } from './copy-s3';

export type { CopyInput, CopyOutput } from './copy-common';
export { copyTargetsOf } from '../config/copies';

/**
 * The off-host copy steps, one activity per target so each has its own retries and one
 * target's outage never blocks the other. Both need the local file: serve them on the host's
 * own task queue. A target that is not configured fails at once (the workflow should only call
 * the ones `copyTargetsOf(config)` lists).
 */
export function createCopyActivities(config: CopyConfig, s3Options: S3CopyOptions = {}) {
  return {
    copyToDirectory: config.localDir ? makeCopyToDirectory(config.localDir) : notConfigured('BACKUP_COPY_DIR'),
    copyToS3: config.s3 ? makeCopyToS3(config.s3, s3Options) : notConfigured('BACKUP_S3_BUCKET'),
  };
}

export type CopyActivities = ReturnType<typeof createCopyActivities>;

function notConfigured(variable: string) {
  return async function copyTargetNotConfigured(_input: CopyInput): Promise<CopyOutput> {
    throw ApplicationFailure.nonRetryable(`this copy target is off on this worker: ${variable} is not set`, 'CopyTargetNotConfigured');
  };
}
