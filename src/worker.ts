import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig } from './config';
import { loadWatchdogConfig } from './freshness/config';
import { createWatchdogWorker } from './freshness/worker';
import { temporalConnectConfig } from './temporal-connection';
import { createBackupWorkers, runWorkers } from './worker-setup';

/**
 * `npm run worker`: a long-running backup worker. Configuration comes from the environment.
 * It also serves the hourly freshness checks, on its shared queue by default, so the alarm works
 * without a second process; a watchdog on another host uses a queue of its own.
 */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const watchdog = loadWatchdogConfig();
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    // The shared Worker serves the freshness check on the default queue.
    const workers = await createBackupWorkers({ connection, namespace, config });
    // A watchdog queue of its own (BACKUP_WATCHDOG_TASK_QUEUE) is served here too, unless BACKUP_WATCHDOG=false.
    if (watchdog.taskQueue !== config.taskQueue && process.env.BACKUP_WATCHDOG?.trim().toLowerCase() !== 'false') {
      // The worker's own connection serves the lookup's client calls too: no second connection.
      workers.push(await createWatchdogWorker({ connection, namespace, config: watchdog, client: new Client({ connection, namespace }) }));
    }
    console.log(
      `backup worker polling "${config.taskQueue}" and its own "${config.hostTaskQueue}" on ${connectionOptions.address} (namespace ${namespace}); backups go to ${config.backupDir}`,
    );
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
