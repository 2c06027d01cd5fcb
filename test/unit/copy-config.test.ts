import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config';
import { copyTargetsOf, loadCopyConfig } from '../../src/config/copies';

describe('configuration', () => {
  it('is off by default and reads every variable', () => {
    expect(loadCopyConfig({})).toEqual({});
    expect(copyTargetsOf(loadCopyConfig({}))).toEqual([]);
    const config = loadCopyConfig({
      BACKUP_DIR: '/var/backups/postgres',
      BACKUP_COPY_DIR: '/mnt/nas/backups',
      BACKUP_S3_BUCKET: 'my-backups',
      BACKUP_S3_PREFIX: 'db/prod/',
      BACKUP_S3_ENDPOINT: 'http://127.0.0.1:9000',
      BACKUP_S3_FORCE_PATH_STYLE: 'true',
      BACKUP_S3_STORAGE_CLASS: 'STANDARD_IA',
    });
    expect(config).toEqual({
      localDir: '/mnt/nas/backups',
      s3: {
        bucket: 'my-backups',
        prefix: 'db/prod/',
        endpoint: 'http://127.0.0.1:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        storageClass: 'STANDARD_IA',
      },
    });
    expect(copyTargetsOf(config)).toEqual(['copyToDirectory', 'copyToS3']);
    expect(loadCopyConfig({ BACKUP_S3_BUCKET: 'b-1' }).s3).toEqual({
      bucket: 'b-1',
      prefix: '',
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: false,
      storageClass: undefined,
    });
  });

  it.each([
    [{ BACKUP_COPY_DIR: '/tmp' }, 'BACKUP_COPY_DIR'],
    [{ BACKUP_S3_BUCKET: 's3://my-backups/db' }, 'BACKUP_S3_BUCKET'],
    [{ BACKUP_S3_PREFIX: 'db/' }, 'BACKUP_S3_BUCKET'],
    [{ BACKUP_S3_BUCKET: 'b-1', BACKUP_S3_PREFIX: '/db/' }, 'BACKUP_S3_PREFIX'],
    [{ BACKUP_S3_BUCKET: 'b-1', BACKUP_S3_ENDPOINT: 'http://user:hunter2-secret@minio:9000' }, 'BACKUP_S3_ENDPOINT'],
    [{ BACKUP_S3_BUCKET: 'b-1', BACKUP_S3_REGION: 'eu west' }, 'BACKUP_S3_REGION'],
    [{ BACKUP_S3_BUCKET: 'b-1', BACKUP_S3_FORCE_PATH_STYLE: 'yes' }, 'BACKUP_S3_FORCE_PATH_STYLE'],
    [{ BACKUP_S3_BUCKET: 'b-1', BACKUP_S3_STORAGE_CLASS: 'cheap' }, 'BACKUP_S3_STORAGE_CLASS'],
  ])('rejects %j naming %s', (env, variable) => {
    let err: unknown;
    try {
      loadCopyConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).not.toContain('hunter2-secret');
  });
});
