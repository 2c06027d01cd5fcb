import { ConfigError } from './config-error';
import { isSet, option, type Env } from './registry';

/**
 * Off-host copies of each verified backup. Both targets are off unless configured.
 * S3 credentials are not read here: the AWS SDK's standard chain finds them
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], AWS_PROFILE, web identity, instance
 * roles…), so no secret ever sits in this object, in logs or in Temporal history.
 */
export interface CopyConfig {
  /** BACKUP_COPY_DIR: a second directory (e.g. a mounted NAS), created 0700 if missing. */
  localDir?: string;
  s3?: S3CopyConfig;
}

export interface S3CopyConfig {
  bucket: string;
  /** Prepended to the file name as is: use a trailing `/` for a "folder". */
  prefix: string;
  /** For S3-compatible services (MinIO, Ceph, R2, …); unset means AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  storageClass?: string;
}

const S3_VARIABLES = ['BACKUP_S3_PREFIX', 'BACKUP_S3_ENDPOINT', 'BACKUP_S3_REGION', 'BACKUP_S3_FORCE_PATH_STYLE', 'BACKUP_S3_STORAGE_CLASS'] as const;

export function loadCopyConfig(env: Env): CopyConfig {
  const config: CopyConfig = {};
  const localDir = option(env, 'BACKUP_COPY_DIR');
  if (localDir) {
    // Copying into the backup directory itself would "succeed" without a second copy existing.
    if (localDir === option(env, 'BACKUP_DIR')) {
      throw new ConfigError('BACKUP_COPY_DIR', `must be another directory than BACKUP_DIR (both are ${localDir})`);
    }
    config.localDir = localDir;
  }
  const bucket = option(env, 'BACKUP_S3_BUCKET');
  if (!bucket) {
    const stray = S3_VARIABLES.find((name) => isSet(env, name));
    if (stray) throw new ConfigError('BACKUP_S3_BUCKET', `is required when ${stray} is set (S3 copies are on only with a bucket)`);
    return config;
  }
  config.s3 = {
    bucket,
    prefix: option(env, 'BACKUP_S3_PREFIX'),
    endpoint: option(env, 'BACKUP_S3_ENDPOINT'),
    region: option(env, 'BACKUP_S3_REGION'),
    forcePathStyle: option(env, 'BACKUP_S3_FORCE_PATH_STYLE'),
    storageClass: option(env, 'BACKUP_S3_STORAGE_CLASS'),
  };
  return config;
}

/** Which copy activities a run should call, in order (the workflow cannot read the environment). */
export function copyTargetsOf(config: CopyConfig): Array<'copyToDirectory' | 'copyToS3'> {
  return [...(config.localDir ? (['copyToDirectory'] as const) : []), ...(config.s3 ? (['copyToS3'] as const) : [])];
}
