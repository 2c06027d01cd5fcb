import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';
import { startS3Server, type S3TestServer } from './support/s3-server';
import { startSlackReceiver, type SlackReceiver } from './support/slack-receiver';

const BUCKET = 'wf-copies';
let server: S3TestServer;
let s3: S3Client;
let slack: SlackReceiver;
let source: { name: string; url: string };

beforeAll(async () => {
  server = await startS3Server();
  process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  s3 = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  slack = await startSlackReceiver();
  source = await freshDemoDatabase('copies', 2000);
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await slack?.close();
});

const s3Env = (bucket = BUCKET) => ({
  BACKUP_S3_BUCKET: bucket,
  BACKUP_S3_PREFIX: 'nightly/',
  BACKUP_S3_ENDPOINT: server.endpoint,
  BACKUP_S3_REGION: server.region,
  BACKUP_S3_FORCE_PATH_STYLE: 'true',
});
const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'nightly/' }))).Contents ?? []).map((o) => o.Key).sort();

describe('off-host copies in the workflow', () => {
  it('copies the verified backup to a second directory and to S3, lists both, and prunes every target', async () => {
    const copyDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-nas-')), 'backups');
    const older = `${source.name}_production_20250101_030000.sql.gz`;
    const olderRoles = `${source.name}_production_20250101_030000.roles.json`;
    fs.mkdirSync(copyDir, { mode: 0o700 });
    for (const name of [older, olderRoles, `${olderRoles}.sha256`]) {
      fs.writeFileSync(path.join(copyDir, name), 'old');
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `nightly/${name}`, Body: 'old' }));
    }
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `nightly/${older}.sha256`, Body: 'old' }));

    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_COPY_DIR: copyDir, BACKUP_KEEP_LAST: '1', SLACK_WEBHOOK_URL: slack.url, ...s3Env() });
    try {
      const handle = await startBackup(w, 'production');
      const result: BackupResult = await handle.result();
      const key = `nightly/${result.fileName}`;
      expect(result.copies).toEqual([
        { target: `dir:${copyDir}`, bytes: result.sizeBytes, sha256: result.sha256 },
        { target: `s3://${BUCKET}/${key}`, bytes: result.sizeBytes, sha256: result.sha256 },
      ]);
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
      // The roles sidecar went along, byte for byte, with its own .sha256.
      const roles = result.roles!;
      const rolesKey = `nightly/${roles.fileName}`;
      const rolesObject = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: rolesKey }));
      expect(
        createHash('sha256')
          .update(await rolesObject.Body!.transformToByteArray())
          .digest('hex'),
      ).toBe(roles.sha256);
      expect(fs.readFileSync(path.join(copyDir, roles.fileName))).toEqual(fs.readFileSync(roles.path));
      // Retention ran on every target, keeping only the new backup and its roles sidecar (the old ones' went with them).
      expect(await keys()).toEqual([key, `${key}.sha256`, rolesKey, `${rolesKey}.sha256`].sort());
      expect(fs.readdirSync(copyDir).sort()).toEqual([result.fileName, `${result.fileName}.sha256`, roles.fileName, `${roles.fileName}.sha256`].sort());
      expect(result.pruned?.map((p) => [p.target, p.removed])).toEqual([
        [`dir:${w.backupDir}`, []],
        [`dir:${copyDir}`, [older]],
        [`s3://${BUCKET}/nightly/`, [older]],
      ]);
      expect(slack.received.at(-1)?.json.text).toContain(`• Copies: dir:${copyDir}, s3://${BUCKET}/${key}`);
      const steps = (await handle.fetchHistory()).events?.flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
      );
      // Each target copies the backup, then its roles sidecar: the two targets' second copies may come in either order.
      expect(steps?.slice(0, 7)).toEqual(['dump', 'compress', 'verify', 'saveRoles', 'stat', 'copyToDirectory', 'copyToS3']);
      expect(steps?.slice(7, 9).sort()).toEqual(['copyToDirectory', 'copyToS3']);
      expect(steps?.slice(9)).toEqual(['prune', 'notify']);
    } finally {
      await w.stop();
    }
  });

  it('one target failing does not stop the other; the run fails, alerts, and prunes nothing', async () => {
    const copyDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-nas-')), 'backups');
    const w = await startTestWorker({
      DATABASE_URL: source.url,
      BACKUP_COPY_DIR: copyDir,
      BACKUP_KEEP_LAST: '1',
      SLACK_WEBHOOK_URL: slack.url,
      ...s3Env('no-such-bucket'),
    });
    const keep = path.join(w.backupDir, `${source.name}_production_20250101_030000.sql.gz`);
    fs.writeFileSync(keep, 'older backup');
    const before = slack.received.length;
    try {
      const error = await (await startBackup(w, 'production')).result().catch((err) => err);
      expect(error.cause.message).toMatch(/^off-host copy failed: copyToS3: .*NoSuchBucket.* \(the backup is in BACKUP_DIR and reached dir:/);
      expect(fs.readdirSync(copyDir).filter((f) => f.endsWith('.sql.gz'))).toHaveLength(1); // the directory copy still happened
      expect(fs.existsSync(keep)).toBe(true); // nothing pruned after a failed run
      expect(slack.received.slice(before).map((r) => r.json.text)).toEqual([
        expect.stringMatching(/^🔴 Database backup failed\n• Environment: production\n• Error: off-host copy failed: copyToS3/),
      ]);
      expect(JSON.stringify(error)).not.toContain(server.secretAccessKey);
    } finally {
      await w.stop();
    }
  });
});
