import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { S3CopyConfig } from '../config/copies';
import { fileSafeName } from '../common/file-name';
import { companionNames } from '../files/roles-sidecar';
import { backupNamePattern, parseBackupNames, planRetention, type RetentionPolicy } from './plan';

export interface S3PrunePlan {
  target: string;
  keep: string[];
  remove: string[];
}

/** The retention plan for the copies under the S3 prefix (only names directly under it). */
export async function planS3Prune(
  client: S3Client,
  config: S3CopyConfig,
  database: string,
  label: string,
  policy: RetentionPolicy,
  alwaysKeep: string[],
): Promise<S3PrunePlan> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const name = object.Key?.slice(config.prefix.length);
      if (name && !name.includes('/')) names.push(name);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const plan = planRetention(parseBackupNames(names, backupNamePattern(fileSafeName(database), label)), policy, alwaysKeep);
  return { target: `s3://${config.bucket}/${config.prefix}`, ...plan };
}

/** Deletes each pruned object, its `.sha256` and its roles sidecar (with that one's `.sha256`), at most 1000 keys a request. */
export async function applyS3Prune(client: S3Client, config: S3CopyConfig, plan: S3PrunePlan): Promise<void> {
  const keys = plan.remove.flatMap((name) => [name, `${name}.sha256`, ...companionNames(name)].map((n) => config.prefix + n));
  for (let i = 0; i < keys.length; i += 1000) {
    const result = await client.send(
      new DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }),
    );
    if (result.Errors?.length) throw new Error(`could not delete ${result.Errors.map((e) => `${e.Key}: ${e.Code}`).join(', ')}`);
  }
}
