/**
 * The one-line summary each step carries in the Web UI (the activity's user metadata, shown in
 * its history rows and on the run's "User Metadata" tab). Made from the step's own input only:
 * deterministic, and never a secret (inputs hold labels, file paths and sizes).
 */
export function stepSummary(step: string, args: readonly unknown[]): string {
  const input = (args[0] ?? {}) as Record<string, unknown>;
  const file = typeof input.path === 'string' ? baseName(input.path) : undefined;
  switch (step) {
    case 'dump':
      return `pg_dump of "${String(input.environment)}" to a plain .sql beside the backups${input.announce ? ', followed by compress' : ''}`;
    case 'compress':
      // gzip or zstd (BACKUP_COMPRESSION): a worker setting, not in the step's input.
      return 'whileDumping' in input ? 'compress the .sql while pg_dump writes it' : `compress ${baseName(String(input.sqlPath))}`;
    case 'verify':
      return 'whileCompressing' in input
        ? 'restore the backup into a scratch database while compress writes it, and compare row counts'
        : `restore ${file} into a scratch database and compare row counts`;
    case 'encrypt':
      return `age-encrypt ${file}`;
    case 'saveRoles':
      return `the roles the database needs, beside ${file}`;
    case 'stat':
      return `size and sha256 of ${file}, written to ${file}.sha256`;
    case 'copyToDirectory':
      return `copy ${file} and its .sha256 to BACKUP_COPY_DIR`;
    case 'copyToS3':
      return `upload ${file} and its .sha256 to S3`;
    case 'prune':
      return `retention: older backups of "${String(input.environment)}" (keeps ${String(input.keep)})`;
    case 'notify':
      return `Slack: ${input.outcome === 'success' ? 'backup completed' : 'backup failed'}`;
    default:
      return step;
  }
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
