import { ConfigError, databaseFor, loadWorkerConfig } from './config';
import { labelProblem } from './common/label';
import { environmentsOf } from './config/env';
import { applyLocalPrune, planLocalPrune } from './retention/local';

const USAGE = `usage: npm run prune -- [--dry-run] [label ...]

Applies the retention policy (BACKUP_KEEP_LAST, BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY,
BACKUP_KEEP_MONTHLY) to the backups in BACKUP_DIR of each label (default: BACKUP_ENVIRONMENTS,
else BACKUP_ENVIRONMENT, else production). --dry-run lists what would go and removes nothing.`;

/** `npm run prune`: the same plan the workflow's prune step applies, on demand. */
export async function pruneCli(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(USAGE);
    return 0;
  }
  const dryRun = argv.includes('--dry-run');
  const unknown = argv.filter((a) => a.startsWith('-') && a !== '--dry-run');
  if (unknown.length) {
    out(`unknown option ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  const config = loadWorkerConfig(env);
  const given = argv.filter((a) => !a.startsWith('-'));
  const labels = given.length ? given : environmentsOf(env);
  if (config.retention.last === 0) {
    out('BACKUP_KEEP_LAST=0: pruning is off, nothing to do');
    return 0;
  }
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) throw new ConfigError('label', problem);
    const plan = await planLocalPrune(config.backupDir, databaseFor(config, label).database, label, config.retention);
    out(`${label} in ${plan.directory}: keep ${plan.keep.length}, ${dryRun ? 'would remove' : 'remove'} ${plan.remove.length}`);
    for (const name of plan.keep) out(`  keep    ${name}`);
    for (const name of plan.remove) out(`  ${dryRun ? 'would remove' : 'remove '} ${name}`);
    if (!dryRun) await applyLocalPrune(plan);
  }
  return 0;
}

if (require.main === module) {
  pruneCli(process.argv.slice(2), process.env, (line) => console.log(line)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
