import { describe, expect, it } from 'vitest';
import { humanSize } from '../../src/common/human-size';
import { databaseUrlVariableFor, labelProblem } from '../../src/common/label';
import { formatTimestamp } from '../../src/common/timestamp';
import { ConfigError, loadWorkerConfig } from '../../src/config';
import { parseDatabaseUrl } from '../../src/config/database-url';
import { redact } from '../../src/config/redact';
import { slackText } from '../../src/notify/messages';

const PASSWORD = `p@:/?#%'"$ w`;
const URL_WITH_PASSWORD = `postgresql://bob:${encodeURIComponent(PASSWORD)}@db.example:5433/resee_prod?sslmode=require`;

describe('environment labels', () => {
  it.each(['production', 'development', 'eu-west_2', 'a'.repeat(64)])('accepts %j', (label) => {
    expect(labelProblem(label)).toBeUndefined();
  });
  it.each(['../x', 'a/b', '', 'a'.repeat(65), 'prod uction', 'prod\n', 'é'])('rejects %j with a clear message', (label) => {
    expect(labelProblem(label)).toMatch(/invalid environment label .*1 to 64 characters from A-Z a-z 0-9 _ -/);
  });
  it('maps a label to its DATABASE_URL_<ENV> variable', () => {
    expect(databaseUrlVariableFor('eu-west')).toBe('DATABASE_URL_EU_WEST');
  });
});

describe('timestamps', () => {
  const instant = new Date('2025-10-20T03:00:00Z');
  it('formats YYYYMMDD_HHMMSS in the configured zone', () => {
    expect(formatTimestamp(instant, 'UTC')).toBe('20251020_030000');
    expect(formatTimestamp(instant, 'Asia/Seoul')).toBe('20251020_120000');
    expect(formatTimestamp(new Date('2025-10-20T00:05:09Z'), 'America/New_York')).toBe('20251019_200509');
  });
  it('writes midnight as 00, not 24', () => {
    expect(formatTimestamp(new Date('2025-10-20T00:00:00Z'), 'UTC')).toBe('20251020_000000');
  });
});

describe('human sizes', () => {
  it('uses two decimals in binary units as the old job did', () => {
    expect(humanSize(Math.round(15.32 * 1024 * 1024))).toBe('15.32 MB');
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(2048)).toBe('2.00 KB');
    expect(humanSize(3 * 1024 ** 3)).toBe('3.00 GB');
  });
});

describe('DATABASE_URL parsing', () => {
  it('splits the password out of the URI and keeps everything else for libpq', () => {
    const target = parseDatabaseUrl(URL_WITH_PASSWORD, 'DATABASE_URL', {});
    expect(target.password).toBe(PASSWORD);
    expect(target.database).toBe('resee_prod');
    expect(target.safeUri).toBe('postgresql://bob@db.example:5433/resee_prod?sslmode=require');
  });
  it('removes a password given as a query parameter', () => {
    const target = parseDatabaseUrl('postgres://u@h/db?password=s3cr%26t&application_name=x', 'DATABASE_URL', {});
    expect(target.password).toBe('s3cr&t');
    expect(target.safeUri).toBe('postgres://u@h/db?application_name=x');
  });
  it('accepts libpq forms node-pg rejects: host lists and socket directories', () => {
    expect(parseDatabaseUrl('postgresql://u:pw@h1:5432,h2:5433/app', 'X', {}).safeUri).toBe('postgresql://u@h1:5432,h2:5433/app');
    const socket = parseDatabaseUrl('postgresql:///app?host=/var/run/postgresql', 'X', {});
    expect(socket).toMatchObject({ database: 'app', password: undefined });
  });
  it.each([
    ['an Azure-style user@server name', 'postgresql://backup@myserver:S3cretPw@myserver.example.com:5432/app'],
    ['a raw "/" in the password', 'postgresql://backup:Ab3/xY9+Secret@db.internal:5432/app'],
    ['a raw "@" in the password', 'postgresql://backup:p@ssW0rd@db/app'],
    ['a NUL byte', 'postgresql://backup:sec%00ret@db/app'],
  ])('refuses %s instead of leaking the password into argv, never echoing it', (_what, raw) => {
    let message = '';
    try {
      parseDatabaseUrl(raw, 'DATABASE_URL', {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^DATABASE_URL: (is not a valid postgresql:\/\/ URI: percent-encode|password has invalid percent-encoding)/);
    for (const part of ['S3cretPw', 'xY9', 'ssW0rd', 'sec']) expect(message).not.toContain(part);
  });
  it.each([
    'postgresql://u:hunter2@localhost:99999/db',
    'postgresql://u:hunter2@localhost:abc/db',
    'postgresql://u:hunter2@h1:5432,h2:x/db',
    'postgresql://u@h:0/db',
  ])('refuses a port outside 1-65535 at start, saying so, without echoing it (%s)', (raw) => {
    expect(() => parseDatabaseUrl(raw, 'DATABASE_URL', {})).toThrow(
      /^DATABASE_URL: has a port that is not a number from 1 to 65535 \(a ':', '@' or '\/' in the password/,
    );
    expect(() => parseDatabaseUrl(raw, 'DATABASE_URL', {})).not.toThrow(/hunter2|99999|abc/);
  });
  it('accepts IPv6 hosts and refuses an upper-case scheme and sslpassword', () => {
    expect(parseDatabaseUrl('postgresql://u:pw@[::1]:5432,[fe80::1%25eth0]/app', 'X', {}).safeUri).toBe('postgresql://u@[::1]:5432,[fe80::1%25eth0]/app');
    expect(() => parseDatabaseUrl('POSTGRESQL://u:pw@h/app', 'X', {})).toThrow(/must be a URI starting with postgresql:\/\//);
    expect(() => parseDatabaseUrl('postgresql://u@h/app?sslpassword=keypass', 'X', {})).toThrow(/sslpassword cannot be given in the URI/);
  });
  it('falls back to PGDATABASE, then the user name, for the database name', () => {
    expect(parseDatabaseUrl('postgresql://alice@h', 'X', { PGDATABASE: 'sales' }).database).toBe('sales');
    expect(parseDatabaseUrl('postgresql://alice@h', 'X', {}).database).toBe('alice');
  });
  it('rejects non-URIs and bad encodings naming the variable, never echoing the password', () => {
    expect(() => parseDatabaseUrl('mysql://u:pw@h/db', 'DATABASE_URL', {})).toThrow(/^DATABASE_URL: must be a URI starting with postgresql:\/\//);
    let message = '';
    try {
      parseDatabaseUrl('postgresql://u:hunter2%zz@h/db', 'DATABASE_URL_DEV', {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^DATABASE_URL_DEV: password has invalid percent-encoding/);
    expect(message).not.toContain('hunter2');
  });
});

describe('worker configuration', () => {
  const base = { DATABASE_URL: 'postgresql://u:pw@localhost/app' };
  it('defaults to the seed policy: 3 attempts, 5 minutes apart, 10-minute timeout', () => {
    const config = loadWorkerConfig(base);
    expect(config.policy).toEqual({ maximumAttempts: 3, retryIntervalMs: 300_000, startToCloseTimeoutMs: 600_000, heartbeatTimeoutMs: 30_000 });
    expect(config).toMatchObject({ taskQueue: 'backups', backupDir: '/tmp', timeZone: 'UTC', compression: { kind: 'gzip', level: 6 } });
    expect(config.verify.maintenanceWorkMem).toBe('256MB');
    expect(loadWorkerConfig({ ...base, BACKUP_COMPRESSION: 'zstd' }).compression).toEqual({ kind: 'zstd', level: 3 });
    expect(loadWorkerConfig({ ...base, BACKUP_COMPRESSION: 'zstd', BACKUP_ZSTD_LEVEL: '9' }).compression).toEqual({ kind: 'zstd', level: 9 });
  });
  it.each([
    [{}, 'DATABASE_URL'],
    [{ ...base, BACKUP_TIMEZONE: 'Mars/Olympus' }, 'BACKUP_TIMEZONE'],
    [{ ...base, BACKUP_RETRY_INTERVAL: 'soon' }, 'BACKUP_RETRY_INTERVAL'],
    [{ ...base, BACKUP_ACTIVITY_TIMEOUT: '-5m' }, 'BACKUP_ACTIVITY_TIMEOUT'],
    [{ ...base, BACKUP_MAX_ATTEMPTS: '0' }, 'BACKUP_MAX_ATTEMPTS'],
    [{ ...base, BACKUP_GZIP_LEVEL: '11' }, 'BACKUP_GZIP_LEVEL'],
    [{ ...base, BACKUP_ZSTD_LEVEL: '20' }, 'BACKUP_ZSTD_LEVEL'],
    [{ ...base, BACKUP_COMPRESSION: 'bzip2' }, 'BACKUP_COMPRESSION'],
    [{ ...base, BACKUP_VERIFY_MAINTENANCE_WORK_MEM: '512' }, 'BACKUP_VERIFY_MAINTENANCE_WORK_MEM'],
    [{ ...base, BACKUP_VERIFY_MAINTENANCE_WORK_MEM: '4TB' }, 'BACKUP_VERIFY_MAINTENANCE_WORK_MEM'],
    [{ ...base, BACKUP_VERIFY_MAINTENANCE_WORK_MEM: '512kB' }, 'BACKUP_VERIFY_MAINTENANCE_WORK_MEM'],
    [{ ...base, SLACK_WEBHOOK_URL: 'not a url' }, 'SLACK_WEBHOOK_URL'],
    [{ ...base, DATABASE_URL_DEVELOPMENT: 'localhost:5432' }, 'DATABASE_URL_DEVELOPMENT'],
  ])('fails at start naming the variable (%#)', (env, variable) => {
    let error: unknown;
    try {
      loadWorkerConfig(env as NodeJS.ProcessEnv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message.startsWith(`${variable}: `)).toBe(true);
  });
  it('reads durations the way Temporal does', () => {
    const config = loadWorkerConfig({ ...base, BACKUP_RETRY_INTERVAL: '90s', BACKUP_ACTIVITY_TIMEOUT: '1h', BACKUP_MAX_ATTEMPTS: '5' });
    expect(config.policy).toMatchObject({ retryIntervalMs: 90_000, startToCloseTimeoutMs: 3_600_000, maximumAttempts: 5 });
  });
});

describe('redaction', () => {
  it('removes known secrets in raw and encoded form, and any URI credentials', () => {
    const text = `failed for ${URL_WITH_PASSWORD} with ${PASSWORD} and postgres://x:other@h/db password=abc`;
    const out = redact(text, [PASSWORD]);
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(encodeURIComponent(PASSWORD));
    expect(out).not.toContain('other');
    expect(out).toContain('password=***');
  });
});

describe('Slack messages', () => {
  it('has the old job exact success text', () => {
    expect(
      slackText({
        outcome: 'success',
        environment: 'production',
        fileName: 'resee_prod_production_20251020_030000.sql.gz',
        sizeBytes: Math.round(15.32 * 1024 * 1024),
      }),
    ).toBe('✅ Database backup completed successfully\n• Environment: production\n• File: resee_prod_production_20251020_030000.sql.gz\n• Size: 15.32 MB');
  });
  it('has the old job failure text, with Slack control characters escaped', () => {
    expect(slackText({ outcome: 'failure', environment: 'production', error: 'pg_dump: <oops> & more' })).toBe(
      '🔴 Database backup failed\n• Environment: production\n• Error: pg_dump: &lt;oops&gt; &amp; more',
    );
  });
});
