import type { Command } from 'commander';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

export function defineWatchdog(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('watchdog')
      .summary('run the freshness check on a queue of its own (e.g. on another host), until stopped')
      .description(
        "Serves the hourly freshness check on BACKUP_WATCHDOG_TASK_QUEUE, which must not be the backup workers' queue. Needs TEMPORAL_* and SLACK_WEBHOOK_URL, no database.",
      ),
    'watchdog',
  ).action(() => run('watchdog', () => watchdog(ctx)));
}

async function watchdog(ctx: CliContext): Promise<number> {
  const [{ Client }, { loadStandaloneWatchdogConfig }, { connectNative }, { createWatchdogWorker }] = await Promise.all([
    import('@temporalio/client'),
    import('../../config/freshness'),
    import('../../temporal/native-connection'),
    import('../../temporal/workers'),
  ]);
  const config = loadStandaloneWatchdogConfig(ctx.env);
  const { connection, address, namespace } = await connectNative(ctx.env);
  try {
    const worker = await createWatchdogWorker({ connection, namespace, config, client: new Client({ connection, namespace }) });
    ctx.io.out(
      `backup watchdog polling "${config.taskQueue}" on ${address} (namespace ${namespace}); Slack ${config.slackWebhookUrl ? 'on' : 'off (SLACK_WEBHOOK_URL unset)'}`,
    );
    await worker.run();
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
