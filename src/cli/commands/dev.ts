import type { Command } from 'commander';
import { withOptionsHelp, type CliContext, type Runner } from '../program';

export function defineDev(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('dev')
      .summary('the whole stack locally, with the Web UI, until Ctrl-C')
      .description(
        'Runs, until Ctrl-C: a Temporal dev server with its Web UI (unless TEMPORAL_ADDRESS is set; TEMPORAL_UI_URL then says where its UI is), a throwaway PostgreSQL with the demo database "resee_demo" (unless DATABASE_URL is set), the backup worker, the daily Schedule, and one backup right away. Defaults that differ from production (the variable, when set, wins): BACKUP_DIR=.run/backups, BACKUP_RETRY_INTERVAL=10s.',
      )
      .option('--no-backup', 'do not start that first backup')
      .option('--in-memory', "keep the embedded server's history in memory only (by default .run/dev-temporal.sqlite keeps it across restarts)"),
    'dev',
  ).action((flags: { backup: boolean; inMemory?: boolean }) =>
    run('dev', async () => (await import('../../dev/stack')).runDevStack(ctx.env, { backup: flags.backup, inMemory: flags.inMemory ?? false })),
  );
}
