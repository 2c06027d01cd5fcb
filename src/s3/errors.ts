import { ApplicationFailure } from '@temporalio/common';
import { redact } from '../config/redact';

/** Answers another attempt cannot change: wrong bucket, credentials, permissions, region. */
const PERMANENT: Record<string, string> = {
  NoSuchBucket: 'check BACKUP_S3_BUCKET (and BACKUP_S3_ENDPOINT / BACKUP_S3_REGION)',
  InvalidBucketName: 'check BACKUP_S3_BUCKET',
  AccessDenied: 'check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy',
  Forbidden: 'check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy',
  InvalidAccessKeyId: 'check AWS_ACCESS_KEY_ID (or AWS_PROFILE)',
  SignatureDoesNotMatch: 'check AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)',
  AllAccessDisabled: 'the bucket or account is disabled',
  AccountProblem: 'the account has a problem its provider must fix',
  PermanentRedirect: 'the bucket is in another region: check BACKUP_S3_REGION',
  MovedPermanently: 'the bucket is in another region: check BACKUP_S3_REGION',
  AuthorizationHeaderMalformed: 'check BACKUP_S3_REGION',
  InvalidStorageClass: 'check BACKUP_S3_STORAGE_CLASS',
  CredentialsProviderError: 'no S3 credentials found: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE',
};

/** 4xx answers that do mean "try again" (throttling, a timed-out or damaged request, expired session). */
const TRANSIENT = new Set([
  'RequestTimeout',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BadDigest',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'ExpiredToken',
  'TimeoutError',
  'AbortError',
]);

const STATUS_NAMES: Record<number, string> = { 301: 'PermanentRedirect', 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound' };

interface SdkError extends Error {
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Turns an SDK or network error into a Temporal failure: non-retryable when another attempt
 * cannot help, retryable otherwise (network, 5xx, throttling). Known secrets are redacted.
 */
export function s3Failure(err: unknown, target: string, secrets: ReadonlyArray<string | undefined>): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err instanceof Error ? err : new Error(String(err))) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  // Network errors carry a Node errno code (ECONNREFUSED…); S3 answers carry their Code as name.
  // A HEAD answer has no body, so no Code: name it after its status.
  const named = e.name && e.name !== 'Unknown' && e.name !== 'Error' ? e.name : status ? (STATUS_NAMES[status] ?? `HTTP${status}`) : 'Error';
  const code = e.code && /^E[A-Z]+$/.test(e.code) ? e.code : named;
  const hint = PERMANENT[code] ?? (status === 301 ? PERMANENT.PermanentRedirect : undefined);
  const networkHint = status === undefined && code.startsWith('E') ? ' (is BACKUP_S3_ENDPOINT reachable?)' : '';
  const detail = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  const message = redact(`S3 copy to ${target} failed: ${code}${status ? ` (HTTP ${status})` : ''}${detail}${hint ? ` — ${hint}` : networkHint}`, secrets);

  const retryable = !hint && (TRANSIENT.has(code) || status === undefined || status >= 500 || status === 408 || status === 429);
  return retryable ? ApplicationFailure.retryable(message, `S3${code}`) : ApplicationFailure.nonRetryable(message, `S3${code}`);
}
