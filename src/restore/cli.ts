import path from 'node:path';
import { parseArgs } from 'node:util';
import { labelProblem } from '../common/label';
import { humanSize } from '../common/human-size';
import { DEFAULTS } from '../config';
import { ConfigError } from '../config/config-error';
import { parseDatabaseUrl } from '../config/database-url';
import { defaultEnvironment } from '../config/env';
import { psqlBeside } from '../activities/libpq-command';
import { findLatestBackup } from './backup-files';
import { UsageError } from './errors';
import { restoreBackup, type RestoreOptions, type RestoreReport } from './restore-backup';

export const RESTORE_HELP = `Usage: npm run restore -- <file | latest> --target <postgresql URL> [options]

Loads a backup (.sql.gz or .sql.gz.age) into the target database in one transaction:
checks the .sha256 sidecar when there is one, decrypts, decompresses and feeds psql, all
streaming. Nothing is committed unless the whole file was read, decrypted, decompressed and
loaded without error. Prints each table's row count afterwards.

  latest              the newest backup of --label in --dir, by the timestamp in its name
  --target URL        postgresql://user@host[:port]/dbname; the password comes from PGPASSWORD
                      or a passfile (a password in the URL would sit in this command's own argv)
  --force             load even if the target already has user tables
  --dir DIR           where "latest" looks (default BACKUP_DIR, else ${DEFAULTS.backupDir})
  --label L           whose backups "latest" picks (default BACKUP_ENVIRONMENT, else production)
  --identity FILE     age identity file for .age backups (default BACKUP_AGE_IDENTITY_FILE)

Exit codes: 0 restored, 1 the restore failed or was refused (nothing committed), 2 bad usage or configuration.`;

/** Resolves to the process exit code. The report goes to stdout, progress and errors to stderr. */
export async function runRestoreCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: RestoreOptions;
  try {
    const parsed = parseRestoreArgs(argv, env);
    if (parsed === 'help') {
      console.log(RESTORE_HELP);
      return 0;
    }
    options = parsed.latest ? { ...parsed.options, file: await findLatestBackup(parsed.dir, parsed.label) } : parsed.options;
    console.error(`restoring ${options.file} into ${options.target.safeUri}…`);
    printReport(await restoreBackup({ ...options, onProgress: (read, total) => console.error(`  read ${humanSize(read)} of ${humanSize(total)}`) }));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${RESTORE_HELP}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(`configuration error: ${err.message}`);
      return 2;
    }
    console.error(`restore failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

interface ParsedArgs {
  options: RestoreOptions;
  latest: boolean;
  dir: string;
  label: string;
}

export function parseRestoreArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs | 'help' {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        target: { type: 'string' },
        force: { type: 'boolean', default: false },
        dir: { type: 'string' },
        label: { type: 'string' },
        identity: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(`expected one backup file or "latest", got ${positionals.length} arguments`);
  if (!values.target) throw new UsageError('--target <postgresql URL> is required');

  const label = values.label ?? defaultEnvironment(env);
  const problem = labelProblem(label);
  if (problem) throw new UsageError(problem);
  const identityFile = values.identity ?? (env.BACKUP_AGE_IDENTITY_FILE?.trim() || undefined);
  return {
    latest: positionals[0] === 'latest',
    dir: path.resolve(values.dir ?? (env.BACKUP_DIR?.trim() || DEFAULTS.backupDir)),
    label,
    options: {
      file: path.resolve(positionals[0]),
      target: targetWithoutPassword(parseDatabaseUrl(values.target, '--target', env)),
      force: values.force ?? false,
      identity: identityFile ? { file: identityFile, source: values.identity ? '--identity' : 'BACKUP_AGE_IDENTITY_FILE' } : undefined,
      psqlPath: psqlBeside(env.BACKUP_PG_DUMP?.trim() || DEFAULTS.pgDumpPath),
    },
  };
}

function printReport(report: RestoreReport): void {
  const seconds = (report.durationMs / 1000).toFixed(1);
  console.log(
    `restored ${path.basename(report.file)} (${humanSize(report.bytes)}${report.encrypted ? ', decrypted' : ''}, checksum ${report.checksum}) in ${seconds} s`,
  );
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  console.log(`${'table'.padEnd(width)}  rows`);
  for (const { table, rows } of report.tables) console.log(`${table.padEnd(width)}  ${rows}`);
}

/** This command's own argv is world-readable for as long as the restore runs: no password in it. */
function targetWithoutPassword(target: ReturnType<typeof parseDatabaseUrl>): ReturnType<typeof parseDatabaseUrl> {
  if (target.password) {
    throw new UsageError('--target must not contain a password (it would be visible in the process list): give it in PGPASSWORD or a passfile');
  }
  return target;
}
