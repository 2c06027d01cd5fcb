import type { Command } from 'commander';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

interface RestoreFlags {
  target: string;
  force?: boolean;
  dir?: string;
  label?: string;
  identity?: string;
  json?: boolean;
}

export function defineRestore(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('restore')
      .summary('load a backup into a database, in one transaction')
      .description(
        "Loads a backup (.sql.gz or .sql.gz.age) into the target database in one transaction: checks the .sha256 sidecar when there is one, decrypts, decompresses and feeds psql, all streaming. Nothing is committed unless the whole file was read, decrypted, decompressed and loaded without error. Prints each table's row count afterwards. Exits 1 when the restore failed or was refused (nothing committed).",
      )
      .argument('<file|latest>', 'a backup file, or "latest": the newest backup of --label in --dir, by the timestamp in its name')
      .requiredOption(
        '--target <url>',
        "postgresql://user@host[:port]/dbname; the password comes from PGPASSWORD or a passfile (a password in the URL would sit in this command's own argv)",
      )
      .option('--force', 'load even if the target already has user tables')
      .option('--dir <dir>', 'where "latest" looks (default BACKUP_DIR)')
      .option('--label <label>', 'whose backups "latest" picks (default BACKUP_ENVIRONMENT, else production)')
      .option('--identity <file>', 'age identity file for .age backups (default BACKUP_AGE_IDENTITY_FILE)')
      .option('--json', 'print the report as JSON'),
    'restore',
  ).action((file: string, flags: RestoreFlags) => run('restore', () => restore(ctx, file, flags)));
}

async function restore(ctx: CliContext, file: string, flags: RestoreFlags): Promise<number> {
  const [
    path,
    { labelProblem },
    { humanSize },
    { parseDatabaseUrl },
    { defaultEnvironment },
    registry,
    { libpqTools },
    { findLatestBackup },
    { restoreBackup },
  ] = await Promise.all([
    import('node:path'),
    import('../../common/label'),
    import('../../common/human-size'),
    import('../../config/database-url'),
    import('../../config/labels'),
    import('../../config/registry'),
    import('../../postgres/tools'),
    import('../../restore/backup-files'),
    import('../../restore/restore-backup'),
  ]);
  const { option, libpqEnvironment, secretValues } = registry;
  const label = flags.label ?? defaultEnvironment(ctx.env);
  if (labelProblem(label)) throw new UsageError(labelProblem(label)!);
  const target = parseDatabaseUrl(flags.target, '--target', ctx.env);
  // This command's own argv is world-readable for as long as the restore runs: no password in it.
  if (target.password)
    throw new UsageError('--target must not contain a password (it would be visible in the process list): give it in PGPASSWORD or a passfile');
  const identityFile = flags.identity ?? option(ctx.env, 'BACKUP_AGE_IDENTITY_FILE');
  const backup = file === 'latest' ? await findLatestBackup(path.resolve(flags.dir ?? option(ctx.env, 'BACKUP_DIR')), label) : path.resolve(file);

  ctx.io.err(`restoring ${backup} into ${target.safeUri}…`);
  const report = await restoreBackup({
    file: backup,
    target,
    force: flags.force ?? false,
    identity: identityFile ? { file: identityFile, source: flags.identity ? '--identity' : 'BACKUP_AGE_IDENTITY_FILE' } : undefined,
    libpq: { tools: libpqTools(option(ctx.env, 'BACKUP_PG_DUMP')), env: libpqEnvironment(ctx.env), secrets: secretValues(ctx.env) },
    onProgress: (read, total) => ctx.io.err(`  read ${humanSize(read)} of ${humanSize(total)}`),
  });
  if (flags.json) {
    ctx.io.out(JSON.stringify(report, null, 2));
    return EXIT.ok;
  }
  const seconds = (report.durationMs / 1000).toFixed(1);
  ctx.io.out(
    `restored ${path.basename(report.file)} (${humanSize(report.bytes)}${report.encrypted ? ', decrypted' : ''}, checksum ${report.checksum}) in ${seconds} s`,
  );
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  ctx.io.out(`${'table'.padEnd(width)}  rows`);
  for (const { table, rows } of report.tables) ctx.io.out(`${table.padEnd(width)}  ${rows}`);
  return EXIT.ok;
}
