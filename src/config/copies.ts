import path from 'node:path';
import { ConfigError } from './config-error';
import { nonEmpty } from './env';

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

export const COPY_DEFAULTS = { s3Prefix: '', s3Region: 'us-east-1', s3ForcePathStyle: false } as const;

const S3_VARIABLES = ['BACKUP_S3_PREFIX', 'BACKUP_S3_ENDPOINT', 'BACKUP_S3_REGION', 'BACKUP_S3_FORCE_PATH_STYLE', 'BACKUP_S3_STORAGE_CLASS'];

export function loadCopyConfig(env: NodeJS.ProcessEnv = process.env): CopyConfig {
  const config: CopyConfig = {};
  const copyDir = nonEmpty(env, 'BACKUP_COPY_DIR');
  if (copyDir) {
    const localDir = path.resolve(copyDir);
    // Copying into the backup directory itself would "succeed" without a second copy existing.
    if (localDir === path.resolve(nonEmpty(env, 'BACKUP_DIR') ?? '/tmp')) {
      throw new ConfigError('BACKUP_COPY_DIR', `must be another directory than BACKUP_DIR (both are ${localDir})`);
    }
    config.localDir = localDir;
  }

  const bucket = nonEmpty(env, 'BACKUP_S3_BUCKET');
  if (!bucket) {
    const stray = S3_VARIABLES.find((name) => nonEmpty(env, name));
    if (stray) throw new ConfigError('BACKUP_S3_BUCKET', `is required when ${stray} is set (S3 copies are on only with a bucket)`);
    return config;
  }
  if (/^s3:\/\//i.test(bucket) || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      'BACKUP_S3_BUCKET',
      `expected a bucket name (3-63 characters a-z 0-9 . -, no s3:// and no path; put folders in BACKUP_S3_PREFIX), got ${JSON.stringify(bucket)}`,
    );
  }

  const prefix = env.BACKUP_S3_PREFIX?.trim() ?? COPY_DEFAULTS.s3Prefix;
  if (prefix.startsWith('/') || /\s/.test(prefix) || prefix.length > 512) {
    throw new ConfigError('BACKUP_S3_PREFIX', `expected a key prefix like backups/prod/ (no leading /, no white space), got ${JSON.stringify(prefix)}`);
  }

  const endpoint = nonEmpty(env, 'BACKUP_S3_ENDPOINT');
  if (endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    // Never echo it: someone may have put credentials in the URL.
    if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password) {
      throw new ConfigError('BACKUP_S3_ENDPOINT', 'expected an http(s) URL like https://s3.example.com or http://127.0.0.1:9000, without credentials');
    }
  }

  const region = nonEmpty(env, 'BACKUP_S3_REGION') ?? COPY_DEFAULTS.s3Region;
  if (!/^[A-Za-z0-9-]{1,64}$/.test(region)) {
    throw new ConfigError('BACKUP_S3_REGION', `expected a region name like us-east-1 or eu-central-1, got ${JSON.stringify(region)}`);
  }

  const storageClass = nonEmpty(env, 'BACKUP_S3_STORAGE_CLASS');
  if (storageClass && !/^[A-Z][A-Z0-9_]{1,63}$/.test(storageClass)) {
    throw new ConfigError(
      'BACKUP_S3_STORAGE_CLASS',
      `expected a storage class like STANDARD_IA, GLACIER_IR or DEEP_ARCHIVE, got ${JSON.stringify(storageClass)}`,
    );
  }

  config.s3 = {
    bucket,
    prefix,
    endpoint,
    region,
    forcePathStyle: boolean(env, 'BACKUP_S3_FORCE_PATH_STYLE', COPY_DEFAULTS.s3ForcePathStyle),
    storageClass,
  };
  return config;
}

/** Which copy activities a run should call, in order (the workflow cannot read the environment). */
export function copyTargetsOf(config: CopyConfig): Array<'copyToDirectory' | 'copyToS3'> {
  return [...(config.localDir ? (['copyToDirectory'] as const) : []), ...(config.s3 ? (['copyToS3'] as const) : [])];
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (/^true$/i.test(raw)) return true;
  if (/^false$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}
