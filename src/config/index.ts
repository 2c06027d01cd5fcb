import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { databaseUrlVariableFor, labelProblem } from '../common/label';
import type { ActivityPolicy } from '../common/types';
import { ConfigError } from './config-error';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url';
import { parseDuration } from './durations';
import { backupTaskQueue, DEFAULT_TASK_QUEUE, nonEmpty, slackWebhookUrlFrom, timeZoneFrom } from './env';
import { loadCopyConfig, type CopyConfig } from './copies';
import { loadEncryptionConfig, type EncryptionConfig } from './encryption';
import { loadRetentionPolicy } from './retention';
import type { RetentionPolicy } from '../retention/plan';

export { ConfigError } from './config-error';
export type { DatabaseTarget } from './database-url';

/** Everything a worker needs, read once from the environment and validated at start. */
export interface WorkerConfig {
  /** Shared queue: workflows, notifications. */
  taskQueue: string;
  /** This process's own queue: file steps of the runs it claims (see worker-specific task queues). */
  hostTaskQueue: string;
  backupDir: string;
  timeZone: string;
  gzipLevel: number;
  /** File steps (dump, compress, …) this worker runs at once; more wait for a free slot. */
  hostConcurrency: number;
  pgDumpPath: string;
  /** Free space a dump needs, as a multiple of the database's size; 0 skips the check. */
  freeSpaceFactor: number;
  slackWebhookUrl?: string;
  policy: ActivityPolicy;
  /** age recipients; undefined means backups stay plain `.sql.gz`. */
  encryption?: EncryptionConfig;
  /** Off-host copy targets (BACKUP_COPY_DIR, BACKUP_S3_*); none by default. */
  copies: CopyConfig;
  /** Retention; `last: 0` turns pruning off. */
  retention: RetentionPolicy;
  verify: {
    enabled: boolean;
    /** Server for the scratch database; undefined means the source's own server. */
    server?: DatabaseTarget;
  };
  /** DATABASE_URL: the default target. */
  database: DatabaseTarget;
  /** DATABASE_URL_<ENV>, keyed by that variable name. */
  databaseByVariable: Map<string, DatabaseTarget>;
}

export const DEFAULTS = {
  taskQueue: DEFAULT_TASK_QUEUE,
  backupDir: '/tmp',
  timeZone: 'UTC',
  gzipLevel: 6,
  hostConcurrency: 4,
  pgDumpPath: 'pg_dump',
  maximumAttempts: 3,
  retryInterval: '5m',
  activityTimeout: '10m',
  heartbeatTimeout: '30s',
  freeSpaceFactor: 1,
} as const;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const rawUrl = nonEmpty(env, 'DATABASE_URL');
  if (!rawUrl) {
    throw new ConfigError('DATABASE_URL', 'is required, e.g. postgresql://user@host:5432/dbname (password via the URI, PGPASSWORD or ~/.pgpass)');
  }
  const databaseByVariable = new Map<string, DatabaseTarget>();
  for (const [name, value] of Object.entries(env)) {
    if (/^DATABASE_URL_[A-Z0-9_]+$/.test(name) && value) {
      databaseByVariable.set(name, parseDatabaseUrl(value, name, env));
    }
  }

  const timeZone = timeZoneFrom(env, DEFAULTS.timeZone);

  const taskQueue = backupTaskQueue(env);
  const backupDir = path.resolve(nonEmpty(env, 'BACKUP_DIR') ?? DEFAULTS.backupDir);
  const heartbeatTimeoutMs = parseDuration('BACKUP_HEARTBEAT_TIMEOUT', env.BACKUP_HEARTBEAT_TIMEOUT ?? DEFAULTS.heartbeatTimeout);
  const startToCloseTimeoutMs = parseDuration('BACKUP_ACTIVITY_TIMEOUT', env.BACKUP_ACTIVITY_TIMEOUT ?? DEFAULTS.activityTimeout);

  const slackWebhookUrl = slackWebhookUrlFrom(env);

  return {
    taskQueue,
    hostTaskQueue: `${taskQueue}@${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    backupDir,
    timeZone,
    gzipLevel: integer(env, 'BACKUP_GZIP_LEVEL', DEFAULTS.gzipLevel, 1, 9),
    hostConcurrency: integer(env, 'BACKUP_HOST_CONCURRENCY', DEFAULTS.hostConcurrency, 1, 100),
    pgDumpPath: nonEmpty(env, 'BACKUP_PG_DUMP') ?? DEFAULTS.pgDumpPath,
    freeSpaceFactor: factor(env, 'BACKUP_FREE_SPACE_FACTOR', DEFAULTS.freeSpaceFactor),
    slackWebhookUrl,
    policy: {
      maximumAttempts: integer(env, 'BACKUP_MAX_ATTEMPTS', DEFAULTS.maximumAttempts, 1, 100),
      retryIntervalMs: parseDuration('BACKUP_RETRY_INTERVAL', env.BACKUP_RETRY_INTERVAL ?? DEFAULTS.retryInterval),
      startToCloseTimeoutMs,
      heartbeatTimeoutMs: Math.min(heartbeatTimeoutMs, startToCloseTimeoutMs),
    },
    database: parseDatabaseUrl(rawUrl, 'DATABASE_URL', env),
    databaseByVariable,
    retention: loadRetentionPolicy(env),
    encryption: loadEncryptionConfig(env),
    copies: loadCopyConfig(env),
    verify: {
      enabled: flag(env, 'BACKUP_VERIFY', true),
      server: nonEmpty(env, 'BACKUP_VERIFY_DATABASE_URL')
        ? parseDatabaseUrl(env.BACKUP_VERIFY_DATABASE_URL!.trim(), 'BACKUP_VERIFY_DATABASE_URL', env)
        : undefined,
    },
  };
}

/** The database an environment label backs up: DATABASE_URL_<ENV> if set, else DATABASE_URL. */
export function databaseFor(config: WorkerConfig, label: string): DatabaseTarget {
  const problem = labelProblem(label);
  if (problem) throw new ConfigError('environment', problem);
  return config.databaseByVariable.get(databaseUrlVariableFor(label)) ?? config.database;
}

/** Every secret this configuration holds, for redaction. */
export function secretsOf(config: WorkerConfig): string[] {
  const targets = [config.database, ...config.databaseByVariable.values(), ...(config.verify.server ? [config.verify.server] : [])];
  return [
    ...targets.map((t) => t.password).filter((p): p is string => !!p),
    ...(config.slackWebhookUrl ? [config.slackWebhookUrl] : []),
    ...(process.env.PGPASSWORD ? [process.env.PGPASSWORD] : []),
  ];
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

function factor(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new ConfigError(name, `expected a number from 0 (off) to 100, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
