import path from 'node:path';
import type { Command } from 'commander';
import type { RestoreReport } from '../../restore/restore-backup';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

interface RestoreFlags {
  target: string;
  force?: boolean;
  dir?: string;
  label?: string;
  identity?: string;
  owner: boolean;
  privileges: boolean;
  createRoles?: boolean;
  json?: boolean;
}

export function defineRestore(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('restore')
      .summary('load a backup into a database, in one transaction')
      .description(
        "Loads a backup (.sql.gz, .sql.zst, or either encrypted as .age) into the target database in one transaction: checks the .sha256 sidecar when there is one, decrypts, decompresses and feeds psql, all streaming. Nothing is committed unless the whole file was read, decrypted, decompressed and loaded without error. Prints each table's row count afterwards, and every role it created and statement it skipped. When the target server lacks roles the backup names, it refuses before loading unless --create-roles, --no-owner or --no-privileges says what to do. Exits 1 when the restore failed or was refused (nothing committed).",
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
      .option(
        '--no-owner',
        'skip ALTER … OWNER TO and SET SESSION AUTHORIZATION: objects belong to the restoring role; grants and policies naming roles the target lacks are skipped and listed',
      )
      .option('--no-privileges', 'skip GRANT, REVOKE and ALTER DEFAULT PRIVILEGES')
      .option(
        '--create-roles',
        'create the roles the backup needs and the target lacks, NOLOGIN, from its roles sidecar (<base>.roles.json[.age]), in the same transaction; exact owners need a superuser',
      )
      .option('--json', 'print the report as JSON'),
    'restore',
  ).action((file: string, flags: RestoreFlags) => run('restore', () => restore(ctx, file, flags)));
}

async function restore(ctx: CliContext, file: string, flags: RestoreFlags): Promise<number> {
  const [
    { labelProblem },
    { humanSize },
    { parseDatabaseUrl },
    { defaultEnvironment, environmentsOf },
    registry,
    { libpqTools },
    { findLatestBackup },
    { restoreBackup },
  ] = await Promise.all([
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
  // `npm run restore -- <file>` runs in the project's directory: a relative path is the operator's (npm's INIT_CWD).
  const cwd = option(ctx.env, 'INIT_CWD') ?? process.cwd();
  let backup = path.resolve(cwd, file);
  if (file === 'latest') {
    const latest = await findLatestBackup(path.resolve(cwd, flags.dir ?? option(ctx.env, 'BACKUP_DIR')), label, environmentsOf(ctx.env));
    for (const name of latest.passedOver) ctx.io.err(`passing over ${name}: no .sha256 beside it (its run failed or has not finished)`);
    backup = latest.file;
  }

  ctx.io.err(`restoring ${backup} into ${target.safeUri}…`);
  const report = await restoreBackup({
    file: backup,
    target,
    force: flags.force ?? false,
    identity: identityFile ? { file: identityFile, source: flags.identity ? '--identity' : 'BACKUP_AGE_IDENTITY_FILE' } : undefined,
    noOwner: !flags.owner,
    noPrivileges: !flags.privileges,
    createRoles: flags.createRoles ?? false,
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
  for (const line of whatChanged(report)) ctx.io.out(line);
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  ctx.io.out(`${'table'.padEnd(width)}  rows`);
  for (const { table, rows } of report.tables) ctx.io.out(`${table.padEnd(width)}  ${rows}`);
  return EXIT.ok;
}

/** Nothing left out silently: roles created and what they lack, statements skipped and why. */
function whatChanged(report: RestoreReport): string[] {
  const lines: string[] = [];
  const roles = report.roles;
  if (roles?.created.length) {
    lines.push(`roles created (NOLOGIN; to let one in: ALTER ROLE name WITH LOGIN PASSWORD '…'): ${roles.created.join(', ')}`);
    for (const s of roles.shortfalls) lines.push(`  ${s.role} lacks ${s.missing.join(', ')}: ${report.restoredAs} may not give that (a superuser may)`);
  }
  const n = report.skipped;
  const ownership = (n.owner ?? 0) + (n['large-object-owner'] ?? 0) + (n['session-authorization'] ?? 0);
  if (ownership) lines.push(`skipped ${ownership} ownership statement(s) (--no-owner): the restored objects belong to ${report.restoredAs}`);
  const privileges = (n.grant ?? 0) + (n.revoke ?? 0) + (n['default-privileges'] ?? 0);
  if (privileges)
    lines.push(
      `skipped ${privileges} privilege statement(s) (--no-privileges): GRANT ${n.grant ?? 0}, REVOKE ${n.revoke ?? 0}, ALTER DEFAULT PRIVILEGES ${n['default-privileges'] ?? 0}`,
    );
  if (report.namingMissingRoles.length) {
    const missing = [...new Set(report.namingMissingRoles.flatMap((s) => s.roles))];
    lines.push(
      `skipped ${report.namingMissingRoles.length} statement(s) naming roles the target lacks, or default privileges of roles ${report.restoredAs} may not act as (${missing.join(', ')}); without them those roles get no access:`,
    );
    for (const s of report.namingMissingRoles) lines.push(`  ${s.statement}`);
    lines.push(
      roles
        ? `  to keep them, restore with --create-roles (creates the roles NOLOGIN from ${path.basename(roles.sidecar)})`
        : '  to keep them, create those roles first (this backup has no roles sidecar), then restore again',
    );
  }
  return lines;
}
