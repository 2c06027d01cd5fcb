import { S3Client } from '@aws-sdk/client-s3';
import type { S3CopyConfig } from '../config/copies';

/** One S3 client setup for copies and pruning; credentials come from the SDK's standard chain. */
export function s3ClientFor(config: S3CopyConfig, maxAttempts = 3): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    maxAttempts,
    // A stalled connection must fail (and be retried) rather than hang the attempt.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}
