import type { Command } from 'commander';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

export function defineBackup(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('backup')
      .summary('back up one label now, outside the schedule')
      .description(
        'Starts backupDatabase(label) now, waits for it and prints its result. The label defaults to BACKUP_ENVIRONMENT, else "production". A backup worker must be running on BACKUP_TASK_QUEUE.',
      )
      .argument('[label]', 'environment label, e.g. production')
      .option('--json', 'print the result as JSON on stdout (progress goes to stderr)'),
    'backup',
  ).action((label: string | undefined, options: { json?: boolean }) => run('backup', () => backupNow(ctx, label, options.json ?? false)));
}

async function backupNow(ctx: CliContext, label: string | undefined, json: boolean): Promise<number> {
  const [{ labelProblem }, { defaultEnvironment }, { option }, { connectClient }, { BackupFailed, backupNow }, { humanSize }] = await Promise.all([
    import('../../common/label'),
    import('../../config/labels'),
    import('../../config/registry'),
    import('../../temporal/connection'),
    import('../../schedule/run-now'),
    import('../../common/human-size'),
  ]);
  const environment = label ?? defaultEnvironment(ctx.env);
  const problem = labelProblem(environment);
  if (problem) throw new UsageError(problem);
  const taskQueue = option(ctx.env, 'BACKUP_TASK_QUEUE');
  const connection = await connectClient(ctx.env);
  try {
    const result = await backupNow(connection.client, {
      environment,
      taskQueue,
      onStarted: (id) => ctx.io.err(`started ${id} on task queue ${taskQueue} at ${connection.address}; waiting for it to finish…`),
    });
    if (json) ctx.io.out(JSON.stringify(result, null, 2));
    else
      ctx.io.out(
        `backed up ${environment}: ${result.filePath} (${humanSize(result.sizeBytes)}, sha256 ${result.sha256})${result.verification ? ', verified' : ''}`,
      );
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof BackupFailed)) throw err;
    ctx.io.err(err.message);
    return EXIT.failed;
  } finally {
    await connection.close();
  }
}
