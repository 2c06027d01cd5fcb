import type { Command } from 'commander';
import { EXIT, withOptionsHelp, type CliContext, type Runner } from '../program';

export function defineWorker(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('worker')
      .summary('run a backup worker until stopped')
      .description(
        'Runs a long-lived backup worker: it polls the shared task queue (workflows, notifications, the freshness check) and a queue of its own for the file steps of the runs it takes.',
      ),
    'worker',
  ).action(() => run('worker', () => runWorker(ctx)));
}

async function runWorker(ctx: CliContext): Promise<number> {
  const [
    { Client },
    { loadWorkerConfig },
    { loadMetricsConfig },
    { temporalConnectConfig },
    { connectNative },
    { createBackupWorkers, runWorkers },
    telemetry,
  ] = await Promise.all([
    import('@temporalio/client'),
    import('../../config'),
    import('../../config/metrics'),
    import('../../temporal/connection'),
    import('../../temporal/native-connection'),
    import('../../temporal/workers'),
    import('../../temporal/telemetry'),
  ]);
  // Configuration first: a typo must not need a reachable server to be reported.
  const config = loadWorkerConfig(ctx.env);
  if (config.compression.kind === 'zstd') await (await import('../../compression/zstd-required')).requireZstd();
  await (await import('../../postgres/tool-check')).requireLibpqTools(config.libpq.tools, ctx.env);
  const metrics = loadMetricsConfig(ctx.env);
  // The address too (exit code 2 when malformed), before the runtime and its exporter start.
  temporalConnectConfig(ctx.env);
  // Before the first connection: the SDK's runtime, with its Prometheus exporter, is created with it.
  telemetry.installRuntime({ metrics });
  const { connection, address, namespace } = await connectNative(ctx.env);
  try {
    const workers = await createBackupWorkers({ connection, namespace, config });
    ctx.io.out(
      `backup worker polling "${config.taskQueue}" and its own "${config.hostTaskQueue}"${config.watchdogTaskQueue ? ` and "${config.watchdogTaskQueue}"` : ''} on ${address} (namespace ${namespace}); backups go to ${config.backupDir}`,
    );
    if (metrics) {
      ctx.io.out(`Prometheus metrics at http://${metrics.address}/metrics`);
      const seeded = await telemetry.seedLastSuccess(new Client({ connection, namespace }), { namespace, taskQueue: config.taskQueue }).catch((err: Error) => {
        ctx.io.err(`could not read the last successful backups for the metrics (they appear with the next backup): ${err.message}`);
        return [];
      });
      if (seeded.length) ctx.io.out(`last successful backup per label, from Temporal: ${seeded.join(', ')}`);
    }
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
