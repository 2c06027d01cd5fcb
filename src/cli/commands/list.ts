import type { Command } from 'commander';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

interface ListFlags {
  json?: boolean;
  checksum: boolean;
  label?: string;
  dir?: string;
}

export function defineList(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('list')
      .summary('list the backups in BACKUP_DIR, newest first')
      .description(
        'Lists the backups in BACKUP_DIR, newest first: label, size, age, checksum (sha256 recomputed and compared with the .sha256 sidecar: ok, MISMATCH or missing), whether its roles sidecar is there and intact (ROLES: ok, MISMATCH, unchecked without its .sha256, - when there is none), whether the run that wrote it verified it by a restore, and where copies exist (both from Temporal: "unknown" when it is unreachable or no longer has the run). Exits 1 on a checksum MISMATCH.',
      )
      .option('--json', 'machine-readable output')
      .option('--no-checksum', 'do not read the files (fast; CHECKSUM shows "skipped")')
      .option('--label <label>', 'only backups of this label')
      .option('--dir <dir>', 'another directory than BACKUP_DIR'),
    'list',
  ).action((flags: ListFlags) => run('list', () => list(ctx, flags)));
}

async function list(ctx: CliContext, flags: ListFlags): Promise<number> {
  const [{ labelProblem }, { environmentsOf }, { option }, { listBackups }, { formatListing }] = await Promise.all([
    import('../../common/label'),
    import('../../config/labels'),
    import('../../config/registry'),
    import('../../listing/list'),
    import('../../listing/format'),
  ]);
  if (flags.label !== undefined && labelProblem(flags.label)) throw new UsageError(labelProblem(flags.label)!);
  const dir = flags.dir ?? option(ctx.env, 'BACKUP_DIR');
  let listing;
  try {
    listing = await listBackups({ dir, label: flags.label, checksums: flags.checksum, configuredLabels: environmentsOf(ctx.env), env: ctx.env });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    const where = flags.dir === undefined ? ' (BACKUP_DIR; --dir names another)' : '';
    ctx.io.err(`cannot list backups: ${`${code} ${(err as NodeJS.ErrnoException).path ?? ''}`.trim()}${where}`);
    return EXIT.failed;
  }
  ctx.io.out(flags.json ? JSON.stringify(listing, null, 2) : formatListing(listing, flags.label));
  return listing.backups.some((b) => b.checksum === 'MISMATCH' || b.roles?.checksum === 'MISMATCH') ? EXIT.failed : EXIT.ok;
}
