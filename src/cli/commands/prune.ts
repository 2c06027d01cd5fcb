import type { Command } from 'commander';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

export function definePrune(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('prune')
      .summary('apply the retention policy to BACKUP_DIR now')
      .description(
        "Applies the retention policy (BACKUP_KEEP_LAST, BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY, BACKUP_KEEP_MONTHLY) to the backups in BACKUP_DIR of each label: the same plan the workflow's prune step applies.",
      )
      .argument('[labels...]', 'labels to prune (default: BACKUP_ENVIRONMENTS, else BACKUP_ENVIRONMENT, else production)')
      .option('--dry-run', 'list what would go and remove nothing')
      .option('--json', 'print the plan as JSON'),
    'prune',
  ).action((labels: string[], flags: { dryRun?: boolean; json?: boolean }) => run('prune', () => prune(ctx, labels, flags)));
}

async function prune(ctx: CliContext, given: string[], flags: { dryRun?: boolean; json?: boolean }): Promise<number> {
  const [{ labelProblem }, { databaseFor, loadPruneConfig }, { environmentsOf }, { applyLocalPrune, planLocalPrune }] = await Promise.all([
    import('../../common/label'),
    import('../../config'),
    import('../../config/labels'),
    import('../../retention/local'),
  ]);
  const config = loadPruneConfig(ctx.env);
  const labels = given.length ? given : environmentsOf(ctx.env);
  for (const label of labels) if (labelProblem(label)) throw new UsageError(labelProblem(label)!);
  if (config.retention.last === 0) {
    ctx.io.out(flags.json ? '[]' : 'BACKUP_KEEP_LAST=0: pruning is off, nothing to do');
    return EXIT.ok;
  }
  const plans = [];
  for (const label of labels) {
    const plan = await planLocalPrune(config.backupDir, databaseFor(config, label).database, label, config.retention);
    plans.push({ label, ...plan, applied: !flags.dryRun });
    if (!flags.json) {
      ctx.io.out(`${label} in ${plan.directory}: keep ${plan.keep.length}, ${flags.dryRun ? 'would remove' : 'remove'} ${plan.remove.length}`);
      for (const name of plan.keep) ctx.io.out(`  keep    ${name}`);
      for (const name of plan.remove) ctx.io.out(`  ${flags.dryRun ? 'would remove' : 'remove '} ${name}`);
    }
    if (!flags.dryRun) await applyLocalPrune(plan);
  }
  if (flags.json) ctx.io.out(JSON.stringify(plans, null, 2));
  return EXIT.ok;
}
