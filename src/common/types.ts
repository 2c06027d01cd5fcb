/** Shapes that cross the workflow/activity boundary. None may ever carry a secret. */

/** Per-worker settings the workflow reads once, through a local activity (it cannot read env). */
export interface BackupSettings {
  timeZone: string;
  /** Task queue served only by the worker process that ran this local activity: file steps go there. */
  hostTaskQueue: string;
  activity: ActivityPolicy;
  /** Restore-test each backup in a scratch database (BACKUP_VERIFY). */
  verify: boolean;
  /** Apply the retention policy after each successful backup (BACKUP_KEEP_LAST > 0). */
  prune: boolean;
  /** Encrypt each verified backup for the age recipients (BACKUP_AGE_RECIPIENTS). */
  encrypt: boolean;
  /** Off-host copy steps to run, one activity per target. */
  copyTargets: Array<'copyToDirectory' | 'copyToS3'>;
  /** Write the roles sidecar beside each backup (absent in runs recorded before it existed, which replay without it). */
  rolesSidecar?: boolean;
  /**
   * Run compress beside dump, following the file as it grows (needs two slots on the host,
   * BACKUP_HOST_CONCURRENCY ≥ 2). Absent in runs recorded before it existed, which therefore
   * replay their sequential steps unchanged.
   */
  compressWhileDumping?: boolean;
  /**
   * Run verify beside compress (with verification on and compressWhileDumping), restoring the
   * compressed file as it is written (needs three slots, BACKUP_HOST_CONCURRENCY ≥ 3). Absent in
   * runs recorded before it existed, which replay with verify after compress.
   */
  verifyWhileCompressing?: boolean;
  /**
   * The namespace has the backup search attributes (PgBackupEnvironment, …), so the run may
   * upsert them; absent or false means it must not (its workflow task would fail forever).
   */
  searchAttributes?: boolean;
}

export interface ActivityPolicy {
  maximumAttempts: number;
  retryIntervalMs: number;
  startToCloseTimeoutMs: number;
  heartbeatTimeoutMs: number;
}

export interface DumpInput {
  environment: string;
  timestamp: string;
  /**
   * After a host change, names start at `_<host>`: the lost host may already have copied
   * `<base>` off-host, and a new dump under the same name would collide with it there.
   */
  firstSuffix?: number;
  /** Let a `compress` started beside this dump follow the file while pg_dump writes it. */
  announce?: boolean;
}

export interface DumpOutput {
  database: string;
  /** `{db}_{environment}_{timestamp}`, without extension. */
  baseName: string;
  sqlPath: string;
  bytes: number;
  /** `schema.table` → rows, counted in the snapshot pg_dump used (when verification is on). */
  rowCounts?: Record<string, number>;
  /** Large objects in that snapshot (when verification is on). */
  largeObjects?: number;
}

/** A finished dump, or the dump this run is writing right now (followed as it grows). */
export type CompressInput = { sqlPath: string } | { whileDumping: true };

/** What a `compress` beside the dump (or a `verify` beside compress) returns when it had nothing to follow; the workflow then runs the step after. */
export interface NothingFollowed {
  followed: false;
  reason: string;
}

export interface CompressOutput {
  /** The dump compressed (removed once the `.sql.gz` / `.sql.zst` is in place). */
  sqlPath: string;
  path: string;
  fileName: string;
  bytesIn: number;
  bytesOut: number;
  /** sha256 of the compressed file, computed as it was written (absent from a retry that found it published, and in runs from before). */
  sha256?: string;
}

/** A finished backup file and the source's counts, or (beside compress) this run's compress, followed as it writes. */
export type VerifyInput =
  | {
      environment: string;
      path: string;
      rowCounts: Record<string, number>;
      /** Large objects in the dump's snapshot; absent in runs from before they were counted. */
      largeObjects?: number;
    }
  | { environment: string; whileCompressing: true };

/** What a `verify` beside compress returns when it verified the file compress published. */
export interface VerifyBesideOutput {
  followed: true;
  /** The compressed file it restored, whole: the workflow takes the verification only for the file compress returned. */
  path: string;
  verification: VerifyOutput;
}

export interface VerifyOutput {
  verified: true;
  tables: number;
  rows: number;
  /** Large objects restored (when the source had any), equal to the source's. */
  largeObjects?: number;
  /** Objects the scratch database did not get because only a superuser may create them and they hold no rows, e.g. `publication orders_pub`. */
  skipped?: string[];
}

export interface SaveRolesInput {
  environment: string;
  /** The final backup file (`.sql.gz` or `.sql.gz.age`): the roles sidecar goes beside it. */
  path: string;
}

export interface SaveRolesOutput {
  /** `<base>.roles.json`, or `<base>.roles.json.age` beside an encrypted backup. */
  path: string;
  fileName: string;
  sha256: string;
  checksumPath: string;
  /** Roles in it (absent when an earlier attempt had written it). */
  roles?: number;
}

export interface PruneInput {
  environment: string;
  database: string;
  /** The file this run made: never removed. */
  keep: string;
}

export interface PruneOutput {
  target: string;
  kept: number;
  removed: string[];
}

export interface StatInput {
  path: string;
  /** sha256 and size of the file as the step that wrote it computed them (absent: `stat` reads the file). */
  sha256?: string;
  sizeBytes?: number;
}

export interface StatOutput {
  sizeBytes: number;
  sha256: string;
  checksumPath: string;
}

export type NotifyInput =
  | { outcome: 'success'; environment: string; fileName: string; sizeBytes: number; verification?: VerifyOutput; copies?: string[] }
  | { outcome: 'failure'; environment: string; error: string };

export interface NotifyOutput {
  status: 'sent' | 'skipped';
}

export interface NotificationReport {
  status: 'sent' | 'skipped' | 'failed';
  error?: string;
}

export interface BackupResult {
  environment: string;
  database: string;
  filePath: string;
  fileName: string;
  sizeBytes: number;
  size: string;
  sha256: string;
  checksumPath: string;
  /** Present when the backup was restored into a scratch database and its row counts matched. */
  verification?: VerifyOutput;
  /** The roles sidecar beside the backup (see `saveRoles`); copied and pruned with it. */
  roles?: { path: string; fileName: string; sha256: string; checksumPath: string };
  /** Where copies of this backup reached (besides BACKUP_DIR). */
  copies: Array<{ target: string; bytes: number; sha256: string }>;
  /** What retention removed after this backup succeeded, per target. */
  pruned?: PruneOutput[];
  startedAt: string;
  durationMs: number;
  notification: NotificationReport;
}
