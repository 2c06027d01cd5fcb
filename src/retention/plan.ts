import { COMPRESSED_SQL } from '../common/backup-suffix';

/**
 * Which backups to keep: the newest `last`, plus the newest backup of each of the latest
 * `daily` days, `weekly` ISO weeks and `monthly` months that have one (grandfather-father-son).
 * Pure: works on names only, so the same plan serves the local directory and every off-host
 * target, and `--dry-run` shows exactly what a real run would remove.
 */
export interface RetentionPolicy {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
}

export interface BackupName {
  name: string;
  /** `YYYYMMDD_HHMMSS` from the name, plus the collision suffix for ordering. */
  timestamp: string;
  suffix: number;
}

/**
 * This project's backups of one label (and database, when given): `{db}_{label}_{YYYYMMDD_HHMMSS}[_n].sql.{gz,zst}[.age]`.
 * Sidecars (`.sha256`) and partial files never match.
 */
export function backupNamePattern(databaseInName: string | undefined, label: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const database = databaseInName === undefined ? '.+' : escape(databaseInName);
  return new RegExp(`^${database}_${escape(label)}_(\\d{8}_\\d{6})(?:_(\\d+))?${COMPRESSED_SQL}(?:\\.age)?$`);
}

export function parseBackupNames(names: string[], pattern: RegExp): BackupName[] {
  return names.flatMap((name) => {
    const m = pattern.exec(name);
    return m ? [{ name, timestamp: m[1], suffix: Number(m[2] ?? 1) }] : [];
  });
}

/**
 * Newest first by the name's timestamp, then its collision suffix. One backup present both as
 * `.gz` and `.age` (an encrypt interrupted after publishing) lists its `.age` first: either is whole.
 */
export function newestFirst(backups: BackupName[]): BackupName[] {
  const encrypted = (b: BackupName) => Number(b.name.endsWith('.age'));
  return [...backups].sort((a, b) =>
    a.timestamp !== b.timestamp ? (a.timestamp < b.timestamp ? 1 : -1) : a.suffix !== b.suffix ? b.suffix - a.suffix : encrypted(b) - encrypted(a),
  );
}

export function planRetention(backups: BackupName[], policy: RetentionPolicy, alwaysKeep: string[] = []): { keep: string[]; remove: string[] } {
  const sorted = newestFirst(backups);
  const keep = new Set<string>(alwaysKeep.filter((n) => backups.some((b) => b.name === n)));
  sorted.slice(0, policy.last).forEach((b) => keep.add(b.name));
  keepNewestPerBucket(sorted, policy.daily, (b) => b.timestamp.slice(0, 8), keep);
  keepNewestPerBucket(sorted, policy.weekly, (b) => isoWeek(b.timestamp), keep);
  keepNewestPerBucket(sorted, policy.monthly, (b) => b.timestamp.slice(0, 6), keep);
  return {
    keep: sorted.filter((b) => keep.has(b.name)).map((b) => b.name),
    remove: sorted.filter((b) => !keep.has(b.name)).map((b) => b.name),
  };
}

function keepNewestPerBucket(newestFirst: BackupName[], buckets: number, bucketOf: (b: BackupName) => string, keep: Set<string>): void {
  const seen = new Set<string>();
  for (const backup of newestFirst) {
    if (seen.size >= buckets) break;
    const bucket = bucketOf(backup);
    if (seen.has(bucket)) continue;
    seen.add(bucket);
    keep.add(backup.name);
  }
}

/** ISO-8601 week (`2025-W43`) of a `YYYYMMDD…` timestamp. */
export function isoWeek(timestamp: string): string {
  const date = new Date(Date.UTC(Number(timestamp.slice(0, 4)), Number(timestamp.slice(4, 6)) - 1, Number(timestamp.slice(6, 8))));
  const day = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - day); // Thursday decides the year
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
