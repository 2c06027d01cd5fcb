import type { Command } from 'commander';
import { UsageError } from '../errors';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

export function defineStart(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('start')
      .summary('one real backup, end to end, then exit (the demo: `npm start`)')
      .description(
        'Runs one real backup end to end and exits. Uses DATABASE_URL and TEMPORAL_ADDRESS when set; otherwise starts a throwaway PostgreSQL with a small demo database (resee_demo) and/or an embedded Temporal dev server, and removes them afterwards. The backup file stays in BACKUP_DIR.',
      )
      .argument('[label]', 'environment label (default BACKUP_ENVIRONMENT, else production)'),
    'start',
  ).action((label: string | undefined) => run('start', () => start(ctx, label)));
}

async function start(ctx: CliContext, label: string | undefined): Promise<number> {
  const [
    { labelProblem },
    { loadWorkerConfig, databaseFor },
    { defaultEnvironment },
    { createDemoDatabase },
    { planLocalStack },
    cluster,
    temporalServer,
    { connectClient },
    { connectNative },
    workers,
    { backupRunMetadata },
  ] = await Promise.all([
    import('../../common/label'),
    import('../../config'),
    import('../../config/labels'),
    import('../../dev/demo-database'),
    import('../../dev/preflight'),
    import('../../dev/postgres-cluster'),
    import('../../dev/temporal-server'),
    import('../../temporal/connection'),
    import('../../temporal/native-connection'),
    import('../../temporal/workers'),
    import('../../schedule/run-now'),
  ]);
  // The label and every setting first: a typo must cost no waiting and start nothing.
  const environment = label ?? defaultEnvironment(ctx.env);
  const problem = labelProblem(environment);
  if (problem) throw new UsageError(problem);
  const plan = await planLocalStack(ctx.env);

  const env = { ...ctx.env };
  const cleanups: Array<() => Promise<void>> = [];
  // Ctrl-C or a kill still runs the exit hooks that remove the throwaway servers.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  try {
    if (plan.demoDatabase) {
      ctx.io.out('DATABASE_URL is not set: starting a throwaway PostgreSQL with a demo database "resee_demo"…');
      const pg = await cluster.startThrowawayCluster({ env });
      cleanups.unshift(() => pg.stop());
      env.DATABASE_URL = await createDemoDatabase(pg.adminUrl, 'resee_demo');
    }
    const config = loadWorkerConfig(env);

    let embedded: Awaited<ReturnType<typeof temporalServer.startEmbeddedTemporal>> | undefined;
    if (plan.embeddedTemporal) {
      ctx.io.out('TEMPORAL_ADDRESS is not set: starting an embedded Temporal dev server…');
      embedded = await temporalServer.startEmbeddedTemporal({ cliPath: plan.temporalCli });
      cleanups.unshift(() => embedded!.stop());
    }
    const where = { embeddedAddress: embedded?.address };

    const { connection: workerConnection, namespace } = await connectNative(env, where);
    cleanups.unshift(() => workerConnection.close());
    const started = await workers.createBackupWorkers({ connection: workerConnection, namespace, config });
    const runningWorkers = workers.runWorkers(started);
    cleanups.unshift(async () => {
      for (const w of started) if (w.getState() === 'RUNNING') w.shutdown();
      await runningWorkers;
    });

    const { client, address, close } = await connectClient(env, where);
    cleanups.unshift(close);
    const workflowId = `backup-${environment}-manual-${Date.now()}`;
    ctx.io.out(`starting backupDatabase(${JSON.stringify(environment)}) as ${workflowId} on ${address}…`);
    const result = await client.workflow.execute('backupDatabase', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [environment],
      ...backupRunMetadata(environment, { database: databaseFor(config, environment).database, command: 'pg-backup-workflow start' }),
    });

    ctx.io.out('\nbackup completed:');
    ctx.io.out(JSON.stringify(result, null, 2));
    ctx.io.out(`\ncheck it:   ls -lh ${result.filePath} && (cd ${config.backupDir} && sha256sum -c ${result.fileName}.sha256)`);
    if (embedded) ctx.io.out('the embedded Temporal server stops now; `npm run dev` keeps one running with its Web UI.');
    else ctx.io.out(`its history:  temporal workflow show --address ${address} --namespace ${namespace} --workflow-id ${workflowId}`);
    if (plan.demoDatabase) ctx.io.out('the demo PostgreSQL is removed now; the backup file stays.');
    return EXIT.ok;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => ctx.io.err(`cleanup: ${String(err)}`));
  }
}
