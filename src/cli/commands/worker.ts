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

/** BACKUP_COMPRESSION=zstd needs the zstd program: say so at start (exit 2), not at the first backup. */
async function requireZstd(): Promise<void> {
  const [{ zstdVersion, ZstdNotInstalled }, { ConfigError }] = await Promise.all([import('../../compression/zstd'), import('../../config')]);
  await zstdVersion().catch((err: unknown) => {
    throw err instanceof ZstdNotInstalled ? new ConfigError('BACKUP_COMPRESSION', `is zstd, but ${err.message}`) : err;
  });
}

async function runWorker(ctx: CliContext): Promise<number> {
  const [{ NativeConnection }, { loadWorkerConfig }, { temporalConnectConfig }, { createBackupWorkers, runWorkers }] = await Promise.all([
    import('@temporalio/worker'),
    import('../../config'),
    import('../../temporal/connection'),
    import('../../temporal/workers'),
  ]);
  // Configuration first: a typo must not need a reachable server to be reported.
  const config = loadWorkerConfig(ctx.env);
  if (config.compression.kind === 'zstd') await requireZstd();
  const { connectionOptions, namespace } = temporalConnectConfig(ctx.env);
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const workers = await createBackupWorkers({ connection, namespace, config });
    ctx.io.out(
      `backup worker polling "${config.taskQueue}" and its own "${config.hostTaskQueue}"${config.watchdogTaskQueue ? ` and "${config.watchdogTaskQueue}"` : ''} on ${connectionOptions.address} (namespace ${namespace}); backups go to ${config.backupDir}`,
    );
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
  return EXIT.ok;
}
