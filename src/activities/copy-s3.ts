import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipelineCallback, Transform } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  type HeadObjectCommandOutput,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { S3CopyConfig } from '../config/copies';
import { expectSidecar, hashFile, PartDigests, sourceChanged, type CopyInput, type CopyOutput } from './copy-common';
import { s3Failure } from '../s3/errors';
import { READ_CHUNK } from '../files/files';
import { s3ClientFor } from '../s3/client';
import { throwIfCancelled, withHeartbeats } from './progress';

const STEP = 'copyToS3';
const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;

export interface S3CopyOptions {
  /** Multipart part size; grown for huge files to stay within S3's 10,000 parts. Minimum 5 MiB. */
  partSizeBytes?: number;
  /** Parts in flight at once. Memory stays about (queueSize + 1) × partSize whatever the file size. */
  queueSize?: number;
  /** SDK-level attempts per request; Temporal's retry policy handles the rest. */
  maxAttempts?: number;
  /** Redacted from every message (the worker's secrets: AWS keys among them). */
  secrets?: readonly string[];
}

/**
 * `copyToS3`: uploads the backup (multipart, streamed) and then its sidecar to
 * `s3://bucket/<prefix><name>`. The file is read once: hashed as it is uploaded (whole and per
 * part), and every part carries its SHA-256, which the service checks on arrival. Afterwards
 * the file must have been the verified backup (else the object is deleted again), and
 * HeadObject must show the size, the `sha256` metadata and, where the service reports it, the
 * SHA-256 (composite) checksum of the bytes that were read. A retry that finds the verified
 * object skips the upload (reading the file once to check it); an object of that name with
 * other contents is never overwritten.
 */
export function makeCopyToS3(config: S3CopyConfig, options: S3CopyOptions = {}) {
  let client: S3Client | undefined;
  const s3 = () => (client ??= s3ClientFor(config, options.maxAttempts));

  return async function copyToS3(input: CopyInput): Promise<CopyOutput> {
    const name = path.basename(input.path);
    const key = config.prefix + name;
    const target = `s3://${config.bucket}/${key}`;
    const sidecar = await expectSidecar(input);
    const size = (await fs.stat(input.path)).size;
    const partSize = partSizeFor(size, options.partSizeBytes ?? 16 * MiB);
    const ctx = Context.current();
    try {
      if (ctx.info.attempt > 1) await abortIncompleteUploads(s3(), config.bucket, key); // a crashed attempt's parts
      const existing = await head(s3(), config.bucket, key, ctx.cancellationSignal);
      if (existing && existing.Metadata?.sha256 !== input.sha256) {
        throw ApplicationFailure.nonRetryable(`${target} already exists with other contents; not overwriting it`, 'CopyExists');
      }
      let expected: ExpectedChecksum | undefined;
      let problems: string | undefined;
      if (existing) {
        // A retry: skipping the upload needs the service's own SHA-256 to agree with the file's, not just size and metadata.
        const local = await hashFile(input.path, STEP, partSize, 'hash');
        if (local.sha256 !== input.sha256) throw sourceChanged(input.path, input.sha256, local.sha256);
        expected = expectedChecksum(local.sha256, local.parts);
        problems = verify(existing, size, input.sha256, expected, true);
      }
      if (!existing || problems) {
        // `existing` with problems can only be an earlier attempt of this copy that went wrong.
        const read = await upload(s3(), config, {
          key,
          file: input.path,
          size,
          sha256: input.sha256,
          partSize,
          queueSize: options.queueSize ?? 2,
          mayExist: !!existing,
        });
        if (read.sha256 !== input.sha256 || read.bytes !== size) {
          // What went up is not the verified backup: it must not stay there under its name.
          await deleteObject(s3(), config.bucket, key);
          throw sourceChanged(input.path, input.sha256, read.sha256);
        }
        expected = expectedChecksum(read.sha256, read.parts);
        const after = await head(s3(), config.bucket, key, ctx.cancellationSignal);
        const afterProblems = after ? verify(after, size, input.sha256, expected, false) : 'it is not there';
        if (afterProblems) {
          throw ApplicationFailure.retryable(`${target} does not match the backup after uploading: ${afterProblems}`, 'CopyCorrupted');
        }
      } else {
        log.info('copy already in place', { target });
      }

      await s3().send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: `${key}.sha256`,
          Body: sidecar,
          ContentType: 'text/plain; charset=utf-8',
          ChecksumAlgorithm: 'SHA256',
          StorageClass: config.storageClass as StorageClass | undefined,
        }),
        { abortSignal: ctx.cancellationSignal },
      );
      log.info('copied', {
        target,
        bytes: size,
        parts: expected?.parts,
        checksum: expected?.checked ? 'sha256 verified by the service' : 'size and metadata',
      });
      return { target, bytes: size, sha256: input.sha256 };
    } catch (err) {
      throwIfCancelled();
      throw s3Failure(err, target, [...(options.secrets ?? []), await resolvedSecret(s3())]);
    }
  };
}

interface UploadJob {
  key: string;
  file: string;
  size: number;
  sha256: string;
  partSize: number;
  queueSize: number;
  mayExist: boolean;
}

/** Uploads the file, reading it once; resolves to the digests of what was read (whole and per part). */
async function upload(client: S3Client, config: S3CopyConfig, job: UploadJob): Promise<ReturnType<PartDigests['finish']>> {
  const signal = Context.current().cancellationSignal;
  const source = createReadStream(job.file, { highWaterMark: READ_CHUNK });
  const digests = new PartDigests(job.partSize);
  const body = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      digests.update(chunk);
      done(null, chunk);
    },
  });
  pipelineCallback(source, body, () => undefined); // a read error reaches the upload through `body`
  const uploader = new Upload({
    client,
    partSize: job.partSize,
    queueSize: job.queueSize,
    params: {
      Bucket: config.bucket,
      Key: job.key,
      Body: body,
      ContentLength: job.size,
      ContentType: job.key.endsWith('.gz') ? 'application/gzip' : job.key.endsWith('.zst') ? 'application/zstd' : 'application/octet-stream',
      // Each part (or the single PUT) carries its SHA-256; the service rejects a damaged one.
      ChecksumAlgorithm: 'SHA256',
      Metadata: { sha256: job.sha256 },
      StorageClass: config.storageClass as StorageClass | undefined,
      // Services that support it refuse to replace an object created meanwhile by someone else.
      ...(job.mayExist ? {} : { IfNoneMatch: '*' }),
    },
  });
  let uploaded = 0;
  uploader.on('httpUploadProgress', (p) => (uploaded = p.loaded ?? uploaded));
  const onCancel = () => void uploader.abort();
  signal.addEventListener('abort', onCancel, { once: true });
  try {
    await withHeartbeats(() => ({ step: STEP, phase: 'upload', bytes: uploaded, total: job.size }), uploader.done());
    return digests.finish();
  } catch (err) {
    // lib-storage aborts the multipart upload itself on a part failure, but not before done()
    // rejects on cancellation: remove the parts here so nothing billable is left behind.
    await abortIncompleteUploads(client, config.bucket, job.key);
    throw err;
  } finally {
    signal.removeEventListener('abort', onCancel);
    source.destroy();
    body.destroy();
  }
}

/** Removes an object this attempt uploaded. Best effort: the failure that follows says what happened. */
async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(15_000) });
  } catch (err) {
    log.warn('could not delete an uploaded object whose source changed', { key, error: (err as Error).name });
  }
}

/** HeadObject, or undefined when there is no such object. */
async function head(client: S3Client, bucket: string, key: string, abortSignal: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal });
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey') return undefined;
    throw err;
  }
}

interface ExpectedChecksum {
  /** base64 SHA-256 of the whole file (single PUT) or of the parts' digests (multipart). */
  value: string;
  parts: number;
  /** Set by verify() when the service reported a checksum and it was compared. */
  checked?: boolean;
}

function expectedChecksum(sha256Hex: string, parts: Buffer[]): ExpectedChecksum {
  if (parts.length <= 1) return { value: Buffer.from(sha256Hex, 'hex').toString('base64'), parts: 1 };
  return { value: createHash('sha256').update(Buffer.concat(parts)).digest('base64'), parts: parts.length };
}

/** What is wrong with the stored object, or undefined when it is the backup. */
function verify(headOut: HeadObjectCommandOutput, size: number, sha256: string, expected: ExpectedChecksum, requireChecksum: boolean): string | undefined {
  if (headOut.ContentLength !== size) return `${headOut.ContentLength} bytes instead of ${size}`;
  if (headOut.Metadata?.sha256 !== sha256) return `metadata sha256 ${headOut.Metadata?.sha256 ?? '(none)'} instead of ${sha256}`;
  const reported = headOut.ChecksumSHA256;
  if (reported) {
    // Multipart: "<base64>-<parts>" (composite); some services omit the suffix.
    const [value, count] = reported.split('-');
    if (value !== expected.value || (count !== undefined && Number(count) !== expected.parts)) {
      return `service checksum ${reported} instead of ${expected.value}${expected.parts > 1 ? `-${expected.parts}` : ''}`;
    }
    expected.checked = true;
  } else if (requireChecksum) {
    return 'the service reports no SHA-256 checksum for it';
  }
  return undefined;
}

/** Aborts unfinished multipart uploads of exactly this key. Best effort: never fails the copy. */
async function abortIncompleteUploads(client: S3Client, bucket: string, key: string): Promise<void> {
  try {
    const signal = AbortSignal.timeout(15_000); // also runs after cancellation: must end by itself
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }), { abortSignal: signal });
    for (const u of listed.Uploads ?? []) {
      if (u.Key !== key || !u.UploadId) continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.UploadId }), { abortSignal: signal });
    }
  } catch (err) {
    log.warn('could not clean up unfinished multipart uploads (a bucket lifecycle rule AbortIncompleteMultipartUpload does it too)', {
      key,
      error: (err as Error).name,
    });
  }
}

/** Whole MiB, at least the configured size, at most 10,000 parts for this file. */
export function partSizeFor(size: number, wanted: number): number {
  const minimum = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.max(wanted, minimum, 5 * MiB);
}

/** The secret key the SDK actually uses (it may come from a profile file), for redaction. */
async function resolvedSecret(client: S3Client): Promise<string | undefined> {
  try {
    const credentials = await client.config.credentials();
    return credentials.secretAccessKey;
  } catch {
    return undefined;
  }
}
