import { ApplicationFailure } from '@temporalio/activity';
import type { CopyConfig, S3CopyConfig } from '../config/copies';
import type { LeftoverOptions } from '../files/leftovers';
import type { CopyInput, CopyOutput } from './copy-common';
import { makeCopyToDirectory } from './copy-dir';
import type { S3CopyOptions } from './copy-s3';

/**
 * The off-host copy steps, one activity per target so each has its own retries and one
 * target's outage never blocks the other. Both need the local file: serve them on the host's
 * own task queue. A target that is not configured fails at once (the workflow should only call
 * the ones `copyTargetsOf(config)` lists).
 */
export function createCopyActivities(config: CopyConfig, s3Options: S3CopyOptions = {}, cleanup?: Omit<LeftoverOptions, 'run' | 'keepPublished'>) {
  return {
    copyToDirectory: config.localDir ? makeCopyToDirectory(config.localDir, cleanup) : notConfigured('BACKUP_COPY_DIR'),
    copyToS3: config.s3 ? loadedOnFirstUse(config.s3, s3Options) : notConfigured('BACKUP_S3_BUCKET'),
  };
}

/** The AWS SDK costs some 20 MB of RSS once loaded: only workers that copy to S3 load it, and only when they first do. */
function loadedOnFirstUse(config: S3CopyConfig, options: S3CopyOptions) {
  let copy: Promise<(input: CopyInput) => Promise<CopyOutput>> | undefined;
  return async function copyToS3(input: CopyInput): Promise<CopyOutput> {
    copy ??= import('./copy-s3').then(
      (m) => m.makeCopyToS3(config, options),
      (err: unknown) => {
        copy = undefined; // try loading again next time
        throw err;
      },
    );
    return (await copy)(input);
  };
}

export type CopyActivities = ReturnType<typeof createCopyActivities>;

function notConfigured(variable: string) {
  return async function copyTargetNotConfigured(_input: CopyInput): Promise<CopyOutput> {
    throw ApplicationFailure.nonRetryable(`this copy target is off on this worker: ${variable} is not set`, 'CopyTargetNotConfigured');
  };
}
