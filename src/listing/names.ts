import { COMPRESSED_SQL } from '../common/backup-suffix';

/** A file in BACKUP_DIR named as the workflow names backups: `{db}_{label}_{YYYYMMDD_HHMMSS}[_n].sql.{gz,zst}[.age]`. */
export interface BackupFileName {
  fileName: string;
  /** `{db}_{label}`: the two cannot be told apart by the name alone when either contains `_`. */
  prefix: string;
  /** `YYYYMMDD_HHMMSS`, in the workers' BACKUP_TIMEZONE. */
  timestamp: string;
  encrypted: boolean;
}

const NAME = new RegExp(String.raw`^(.+)_(\d{8}_\d{6})(?:_\d+)?${COMPRESSED_SQL}(\.age)?$`);

export function parseBackupFileName(fileName: string): BackupFileName | undefined {
  const m = NAME.exec(fileName);
  return m ? { fileName, prefix: m[1], timestamp: m[2], encrypted: Boolean(m[3]) } : undefined;
}

/** Every label the name could carry (`a_b_c` → `c`, `b_c`): the database name takes the rest, at least one character. */
export function candidateLabels(prefix: string): string[] {
  const parts = prefix.split('_');
  return parts.slice(1).map((_, i) => parts.slice(i + 1).join('_'));
}

/**
 * The label, best guess first: the one the backup run recorded (exact), else the longest
 * configured label the name ends with, else the part after the last `_`.
 */
export function labelOf(name: BackupFileName, known: { fromRun?: string; configured: string[] }): string {
  if (known.fromRun) return known.fromRun;
  const candidates = candidateLabels(name.prefix);
  const configured = candidates.filter((c) => known.configured.includes(c)).sort((a, b) => b.length - a.length)[0];
  return configured ?? candidates.at(-1) ?? name.prefix;
}
