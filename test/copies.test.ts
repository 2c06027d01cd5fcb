import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCopyActivities } from '../src/activities/copy';
import type { CopyInput, CopyOutput } from '../src/activities/copy-common';
import { makeCopyToDirectory } from '../src/activities/copy-dir';
import { makeCopyToS3, partSizeFor, type S3CopyOptions } from '../src/activities/copy-s3';
import { stat } from '../src/activities/stat';
import type { StatOutput } from '../src/common/types';
import { currentProcessIdentity } from '../src/files/process-identity';
import type { S3CopyConfig } from '../src/config/copies';
import { startS3Server, type S3TestServer } from './support/s3-server';

const MiB = 1024 * 1024;
const BUCKET = 'pg-backups';
const PREFIX = 'nightly/prod/';

let server: S3TestServer;
let s3: S3Client;
let tmp: string;
let small: CopyInput;
let large: CopyInput;

/** A real backup: gzip of SQL text, then its sha256 and sidecar through the `stat` activity. */
async function makeBackup(name: string, rows: number, randomChars: number): Promise<CopyInput> {
  const lines = [`-- PostgreSQL database dump\nCREATE TABLE public.orders (id integer, note text);\nCOPY public.orders (id, note) FROM stdin;\n`];
  for (let i = 1; i <= rows; i++) lines.push(`${i}\tinvoice ${randomBytes(randomChars).toString('base64')}\n`);
  lines.push('\\.\n');
  const file = path.join(tmp, name);
  fs.writeFileSync(file, zlib.gzipSync(Buffer.from(lines.join('')), { level: 1 }), { mode: 0o600 });
  const out: StatOutput = await new MockActivityEnvironment().run(stat, { path: file });
  return { path: file, checksumPath: out.checksumPath, sha256: out.sha256 };
}

function s3Config(overrides: Partial<S3CopyConfig> = {}): S3CopyConfig {
  return { bucket: BUCKET, prefix: PREFIX, endpoint: server.endpoint, region: server.region, forcePathStyle: true, ...overrides };
}

async function runS3(input: CopyInput, config = s3Config(), options: S3CopyOptions = {}, attempt = 1) {
  const env = new MockActivityEnvironment({ attempt });
  const beats: Array<{ phase: string; bytes: number; total: number }> = [];
  env.on('heartbeat', (d) => beats.push(d));
  const result: CopyOutput = await env.run(makeCopyToS3(config, options), input);
  return { result, beats };
}

async function objectBytes(key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  server = await startS3Server();
  // The SDK's standard credential chain reads these, exactly as on a production worker.
  process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true'; // never look for an instance role off this machine
  s3 = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-copies-'));
  small = await makeBackup('resee_prod_production_20251020_030000.sql.gz', 2000, 30);
  large = await makeBackup('resee_prod_production_20251021_030000.sql.gz', 180_000, 60); // ≈ 12 MiB
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('copyToS3 on a real S3 server (MinIO)', () => {
  it('uploads the backup and its sidecar; the object bytes and checksum equal the source', async () => {
    const { result, beats } = await runS3(small);
    const name = path.basename(small.path);
    const size = fs.statSync(small.path).size;
    expect(result).toEqual({ target: `s3://${BUCKET}/${PREFIX}${name}`, bytes: size, sha256: small.sha256 });

    const body = await objectBytes(PREFIX + name);
    expect(body.equals(fs.readFileSync(small.path))).toBe(true);
    expect(sha256(body)).toBe(small.sha256);
    expect((await objectBytes(`${PREFIX}${name}.sha256`)).toString()).toBe(fs.readFileSync(small.checksumPath, 'utf8'));

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: PREFIX + name, ChecksumMode: 'ENABLED' }));
    expect(head.Metadata?.sha256).toBe(small.sha256);
    expect(head.ChecksumSHA256).toBe(Buffer.from(small.sha256, 'hex').toString('base64')); // single PUT: the file's own sha256
    expect(beats.some((b) => b.phase === 'upload' && b.total === size)).toBe(true);
  });

  it('uses a multipart upload (5 MiB parts) for a 12 MiB file, verified end to end', async () => {
    const size = fs.statSync(large.path).size;
    expect(size).toBeGreaterThan(10 * MiB);
    const { result, beats } = await runS3(large, s3Config(), { partSizeBytes: 5 * MiB, queueSize: 2 });
    const key = PREFIX + path.basename(large.path);
    expect(result).toMatchObject({ bytes: size, sha256: large.sha256 });

    const parts = Math.ceil(size / (5 * MiB));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    expect(head.ETag).toMatch(new RegExp(`-${parts}"$`)); // a multipart object's ETag counts its parts
    expect(head.ChecksumSHA256).toMatch(new RegExp(`-${parts}$`)); // composite of the parts' SHA-256
    expect(sha256(await objectBytes(key))).toBe(large.sha256);
    expect(await objectBytes(`${key}.sha256`)).toEqual(fs.readFileSync(large.checksumPath));
    expect(beats.filter((b) => b.phase === 'upload').length).toBeGreaterThan(0);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('is idempotent on retry: the verified object is kept, not uploaded again', async () => {
    const key = PREFIX + path.basename(small.path);
    const before = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    await new Promise((r) => setTimeout(r, 1100)); // a new upload would change LastModified
    const { result, beats } = await runS3(small, s3Config(), {}, 2);
    expect(result.sha256).toBe(small.sha256);
    const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(after.LastModified).toEqual(before.LastModified);
    expect(after.ETag).toBe(before.ETag);
    expect(beats.some((b) => b.phase === 'upload')).toBe(false);
  });

  it('never overwrites another object of the same name', async () => {
    const other = await makeBackup('resee_prod_production_20251022_030000.sql.gz', 50, 10);
    const key = PREFIX + path.basename(other.path);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'something else' }));
    const err = await failure(runS3(other));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('already exists with other contents');
    expect((await objectBytes(key)).toString()).toBe('something else');
  });

  it.each([
    ['with a SHA-256 of its own wrong bytes', 'SHA256'],
    ['without a SHA-256 checksum', 'CRC32'],
  ] as const)('replaces an earlier attempt’s damaged upload (our metadata, wrong bytes) %s', async (_what, algorithm) => {
    const other = await makeBackup(`resee_prod_production_20251025_03000${algorithm.length}.sql.gz`, 300, 20);
    const key = `damaged/${path.basename(other.path)}`;
    const size = fs.statSync(other.path).size;
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(size), Metadata: { sha256: other.sha256 }, ChecksumAlgorithm: algorithm }),
    );
    await runS3(other, s3Config({ prefix: 'damaged/' }), {}, 2);
    expect(sha256(await objectBytes(key))).toBe(other.sha256);
  });

  it('keeps memory bounded: part size × queue, within S3’s 10,000 parts for any size', () => {
    expect(partSizeFor(12 * MiB, 16 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(1, 1)).toBe(5 * MiB); // S3's minimum part size
    const huge = 400 * 1024 * MiB; // 400 GiB
    expect(Math.ceil(huge / partSizeFor(huge, 16 * MiB))).toBeLessThanOrEqual(10_000);
  });

  it('a wrong bucket fails at once (non-retryable), clearly and without secrets', async () => {
    const err = await failure(runS3(small, s3Config({ bucket: 'no-such-bucket-here' })));
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('S3NoSuchBucket');
    expect(err.message).toContain('s3://no-such-bucket-here/');
    expect(err.message).toContain('BACKUP_S3_BUCKET');
    expect(JSON.stringify(err)).not.toContain(server.secretAccessKey);
  });

  it('a wrong secret key fails at once (non-retryable), without the key in the message', async () => {
    const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
    process.env.AWS_SECRET_ACCESS_KEY = wrongSecret;
    try {
      const err = await failure(runS3(small, s3Config({ prefix: 'wrong-key/' })));
      expect(err.nonRetryable).toBe(true);
      // The first request is a HEAD, whose 403 has no body to tell a bad key from a missing permission.
      expect(err.type).toMatch(/^S3(Forbidden|SignatureDoesNotMatch)$/);
      expect(err.message).toContain('AWS_SECRET_ACCESS_KEY');
      expect(err.message).toContain('HTTP 403');
      expect(err.message).not.toContain(wrongSecret);
      expect(err.message).not.toContain(server.secretAccessKey);
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
    }
  });

  it('cancellation stops the upload and leaves neither object nor parts behind', async () => {
    const other = await makeBackup('resee_prod_production_20251023_030000.sql.gz', 180_000, 60);
    const key = `cancel/${path.basename(other.path)}`;
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { phase: string }) => {
      if (d.phase === 'upload') env.cancel();
    });
    const started = Date.now();
    const run = env.run(makeCopyToS3(s3Config({ prefix: 'cancel/' }), { partSizeBytes: 5 * MiB, queueSize: 1 }), other);
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5000);
    // In-flight part requests may still land just after the abort: give them a moment.
    await new Promise((r) => setTimeout(r, 1000));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cancel/' }));
    expect(listed.KeyCount ?? 0).toBe(0);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('with the server down the error is retryable; once it is back, the retry completes', async () => {
    const other = await makeBackup('resee_prod_production_20251024_030000.sql.gz', 500, 20);
    const config = s3Config({ prefix: 'outage/' });
    await server.stop();
    try {
      const err = await failure(runS3(other, config, { maxAttempts: 1 }));
      expect(err.nonRetryable).toBe(false);
      expect(err.message).toMatch(/ECONNREFUSED/);
      expect(err.message).toContain('BACKUP_S3_ENDPOINT');
    } finally {
      await server.start();
    }
    const { result } = await runS3(other, config, {}, 2);
    expect(result.target).toBe(`s3://${BUCKET}/outage/${path.basename(other.path)}`);
    expect(sha256(await objectBytes(`outage/${path.basename(other.path)}`))).toBe(other.sha256);
  });
});

describe('copyToDirectory', () => {
  it('copies the backup (0600, verified) and its sidecar into a new 0700 directory', async () => {
    const dest = path.join(tmp, 'nas', 'backups');
    fs.mkdirSync(path.dirname(dest));
    const env = new MockActivityEnvironment();
    const beats: Array<{ phase: string }> = [];
    env.on('heartbeat', (d) => beats.push(d));
    const result: CopyOutput = await env.run(makeCopyToDirectory(dest), large);
    const name = path.basename(large.path);
    expect(result).toEqual({ target: `dir:${dest}`, bytes: fs.statSync(large.path).size, sha256: large.sha256 });
    expect(fs.statSync(dest).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dest, name)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dest, `${name}.sha256`)).mode & 0o777).toBe(0o600);
    expect(sha256(fs.readFileSync(path.join(dest, name)))).toBe(large.sha256);
    execFileSync('sha256sum', ['-c', `${name}.sha256`], { cwd: dest });
    expect(fs.readdirSync(dest).sort()).toEqual([name, `${name}.sha256`]);
    expect(beats.map((b) => b.phase)).toEqual(expect.arrayContaining(['write', 'verify']));
  });

  it('is idempotent on retry and replaces a crashed attempt’s stale .part', async () => {
    const dest = path.join(tmp, 'nas', 'backups');
    const name = path.basename(large.path);
    const before = fs.statSync(path.join(dest, name));
    const again: CopyOutput = await new MockActivityEnvironment({ attempt: 2 }).run(makeCopyToDirectory(dest), large);
    expect(again.sha256).toBe(large.sha256);
    expect(fs.statSync(path.join(dest, name)).ino).toBe(before.ino);

    // A crashed first attempt of this run: its partial copy, and its record of it (its process is gone).
    const smallName = path.basename(small.path);
    fs.writeFileSync(path.join(dest, `${smallName}.part`), 'half a backup');
    const crashed = { ...(await currentProcessIdentity()), pid: spawnSync('true').pid!, pidStartTime: '1' };
    const run = { namespace: 'default', workflowId: 'test', runId: '00000000-0000-0000-0000-000000000000', activityId: 'copy', attempt: 1 };
    fs.writeFileSync(
      path.join(dest, `${smallName.replace(/\.sql\.gz$/, '')}.owner`),
      JSON.stringify({ version: 1, ...run, ...crashed, environment: '', files: [`${smallName}.part`], databases: [], writtenAt: new Date().toISOString() }),
    );
    await new MockActivityEnvironment({ attempt: 2 }).run(makeCopyToDirectory(dest), small);
    expect(sha256(fs.readFileSync(path.join(dest, path.basename(small.path))))).toBe(small.sha256);
    expect(fs.readdirSync(dest).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('never overwrites a different file of the same name', async () => {
    const dest = fs.mkdtempSync(path.join(tmp, 'other-'));
    const target = path.join(dest, path.basename(small.path));
    fs.writeFileSync(target, 'not the backup');
    const err = await failure(new MockActivityEnvironment().run(makeCopyToDirectory(dest), small));
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('CopyExists');
    expect(fs.readFileSync(target, 'utf8')).toBe('not the backup');
  });

  it('an unmounted share (missing parent) is retryable and nothing is created on the local disk', async () => {
    const dest = path.join(tmp, 'not-mounted', 'backups');
    const err = await failure(new MockActivityEnvironment().run(makeCopyToDirectory(dest), small));
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('BACKUP_COPY_DIR');
    expect(fs.existsSync(path.dirname(dest))).toBe(false);
  });

  it('refuses a sidecar that does not match the backup', async () => {
    const err = await failure(new MockActivityEnvironment().run(makeCopyToDirectory(path.join(tmp, 'x')), { ...small, sha256: large.sha256 }));
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('ChecksumMismatch');
  });
});

describe('createCopyActivities', () => {
  it('a target that is not configured fails at once', async () => {
    const { copyToS3 } = createCopyActivities({ localDir: path.join(tmp, 'nas', 'backups') });
    const err = await failure(new MockActivityEnvironment().run(copyToS3, small));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('BACKUP_S3_BUCKET');
  });
});
