import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Compression } from '../common/backup-suffix';
import { databaseUrlVariableFor, labelProblem } from '../common/label';
import type { ActivityPolicy } from '../common/types';
import type { RetentionPolicy } from '../retention/plan';
import { ConfigError } from './config-error';
import { loadCopyConfig, type CopyConfig } from './copies';
import { parseDatabaseUrl, type DatabaseTarget } from './database-url';
import { loadEncryptionConfig, type EncryptionConfig } from './encryption';
import { watchdogTaskQueue } from './freshness';
import type { LibpqContext } from '../postgres/libpq';
import { libpqTools } from '../postgres/tools';
import { libpqEnvironment, option, optionsMatching, requiredOption, secretValues, type Env } from './registry';
import { loadRetentionPolicy } from './retention';

/** Everything a worker needs, read once from the environment and validated at start. */
export interface WorkerConfig {
  /** Shared queue: workflows, notifications. */
  taskQueue: string;
  /** This process's own queue: file steps of the runs it claims (see worker-specific task queues). */
  hostTaskQueue: string;
  backupDir: string;
  timeZone: string;
  /** What compress writes: `.sql.gz` (gzip, the default) or `.sql.zst`, at the configured level. */
  compression: { kind: Compression; level: number };
  /** File steps (dump, compress, …) this worker runs at once; more wait for a free slot. */
  hostConcurrency: number;
  /** How pg_dump, psql and pg_dumpall run: the programs (BACKUP_PG_DUMP and its siblings), their environment (PATH, locale, HOME and libpq's own variables only) and what to redact. */
  libpq: LibpqContext;
  /** Free space a dump needs, as a multiple of the database's size; 0 skips the check. */
  freeSpaceFactor: number;
  slackWebhookUrl?: string;
  policy: ActivityPolicy;
  /** age recipients; undefined means backups stay plain `.sql.gz` / `.sql.zst`. */
  encryption?: EncryptionConfig;
  /** Off-host copy targets (BACKUP_COPY_DIR, BACKUP_S3_*); none by default. */
  copies: CopyConfig;
  /** Retention; `last: 0` turns pruning off. */
  retention: RetentionPolicy;
  verify: {
    enabled: boolean;
    /** Server for the scratch database; undefined means the source's own server. */
    server?: DatabaseTarget;
    /** `maintenance_work_mem` of the scratch restore's session (`256MB`). */
    maintenanceWorkMem: string;
  };
  /** DATABASE_URL: the default target. */
  database: DatabaseTarget;
  /** DATABASE_URL_<ENV>, keyed by that variable name. */
  databaseByVariable: Map<string, DatabaseTarget>;
  /** The freshness check's own queue when it is not `taskQueue` and this worker serves it too (BACKUP_WATCHDOG). */
  watchdogTaskQueue?: string;
  /** BACKUP_PROGRESS_INTERVAL: how often at most a running step reports its progress to its workflow. */
  progressIntervalMs: number;
  /** Every secret this configuration holds: what errors, logs and Slack texts are redacted of. */
  secrets: string[];
}

/** DATABASE_URL and every DATABASE_URL_<LABEL>: the databases the labels back up. */
export function loadDatabaseTargets(env: Env): Pick<WorkerConfig, 'database' | 'databaseByVariable'> {
  const rawUrl = requiredOption(env, 'DATABASE_URL', 'postgresql://user@host:5432/dbname (password via the URI, PGPASSWORD or ~/.pgpass)');
  const database = parseDatabaseUrl(rawUrl, 'DATABASE_URL', env);
  const databaseByVariable = new Map<string, DatabaseTarget>();
  for (const [name, value] of optionsMatching(env, 'DATABASE_URL_<LABEL>')) databaseByVariable.set(name, parseDatabaseUrl(value, name, env));
  return { database, databaseByVariable };
}

/** What `prune` needs, and nothing it does not read: a bad worker-only setting does not stop it. */
export function loadPruneConfig(env: Env): Pick<WorkerConfig, 'database' | 'databaseByVariable' | 'backupDir' | 'retention'> {
  return { ...loadDatabaseTargets(env), backupDir: option(env, 'BACKUP_DIR'), retention: loadRetentionPolicy(env) };
}

export function loadWorkerConfig(env: Env): WorkerConfig {
  const { database, databaseByVariable } = loadDatabaseTargets(env);
  const verifyUrl = option(env, 'BACKUP_VERIFY_DATABASE_URL');
  const verifyServer = verifyUrl ? parseDatabaseUrl(verifyUrl, 'BACKUP_VERIFY_DATABASE_URL', env) : undefined;

  const taskQueue = option(env, 'BACKUP_TASK_QUEUE');
  const startToCloseTimeoutMs = option(env, 'BACKUP_ACTIVITY_TIMEOUT');
  const watchdogQueue = watchdogTaskQueue(env);
  const targets = [database, ...databaseByVariable.values(), ...(verifyServer ? [verifyServer] : [])];
  const secrets = [...new Set([...secretValues(env), ...targets.map((t) => t.password).filter((p): p is string => !!p)])];

  return {
    taskQueue,
    hostTaskQueue: `${taskQueue}@${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    backupDir: option(env, 'BACKUP_DIR'),
    timeZone: option(env, 'BACKUP_TIMEZONE'),
    compression: compressionOf(env),
    hostConcurrency: option(env, 'BACKUP_HOST_CONCURRENCY'),
    libpq: { tools: libpqTools(option(env, 'BACKUP_PG_DUMP')), env: libpqEnvironment(env), secrets },
    freeSpaceFactor: option(env, 'BACKUP_FREE_SPACE_FACTOR'),
    slackWebhookUrl: option(env, 'SLACK_WEBHOOK_URL'),
    policy: {
      maximumAttempts: option(env, 'BACKUP_MAX_ATTEMPTS'),
      retryIntervalMs: option(env, 'BACKUP_RETRY_INTERVAL'),
      startToCloseTimeoutMs,
      heartbeatTimeoutMs: Math.min(option(env, 'BACKUP_HEARTBEAT_TIMEOUT'), startToCloseTimeoutMs),
    },
    database,
    databaseByVariable,
    retention: loadRetentionPolicy(env),
    encryption: loadEncryptionConfig(env),
    copies: loadCopyConfig(env),
    verify: { enabled: option(env, 'BACKUP_VERIFY'), server: verifyServer, maintenanceWorkMem: option(env, 'BACKUP_VERIFY_MAINTENANCE_WORK_MEM') },
    progressIntervalMs: option(env, 'BACKUP_PROGRESS_INTERVAL'),
    watchdogTaskQueue: watchdogQueue !== taskQueue && option(env, 'BACKUP_WATCHDOG') ? watchdogQueue : undefined,
    secrets,
  };
}

/** BACKUP_COMPRESSION and the level of the chosen compressor. */
export function compressionOf(env: Env): WorkerConfig['compression'] {
  // Both levels are read, so a bad one stops the worker before anyone switches to it.
  const levels = { gzip: option(env, 'BACKUP_GZIP_LEVEL'), zstd: option(env, 'BACKUP_ZSTD_LEVEL') };
  const kind = option(env, 'BACKUP_COMPRESSION');
  return { kind, level: levels[kind] };
}

/** The database an environment label backs up: DATABASE_URL_<ENV> if set, else DATABASE_URL. */
export function databaseFor(config: Pick<WorkerConfig, 'database' | 'databaseByVariable'>, label: string): DatabaseTarget {
  const problem = labelProblem(label);
  if (problem) throw new ConfigError('environment', problem);
  return config.databaseByVariable.get(databaseUrlVariableFor(label)) ?? config.database;
}
