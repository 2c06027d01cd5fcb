import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig } from './config';
import { loadWatchdogConfig } from './freshness/config';
import { createWatchdogWorker } from './freshness/worker';
import { temporalConnectConfig } from './temporal-connection';
import { createBackupWorkers, runWorkers } from './worker-setup';

/**
 * `npm run worker`: a long-running backup worker. Configuration comes from the environment.
 * It also serves the hourly freshness checks (BACKUP_WATCHDOG=false turns that off, e.g. when
 * `npm run watchdog` runs on another host), so the alarm works without a second process.
 */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const watchdog = process.env.BACKUP_WATCHDOG?.trim().toLowerCase() === 'false' ? undefined : loadWatchdogConfig();
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const workers = await createBackupWorkers({ connection, namespace, config });
    if (watchdog) {
      // The worker's own connection serves the watchdog's client calls too: no second connection.
      workers.push(await createWatchdogWorker({ connection, namespace, config: watchdog, client: new Client({ connection, namespace }) }));
    }
    console.log(`backup worker polling "${config.taskQueue}" and its own "${config.hostTaskQueue}" on ${connectionOptions.address} (namespace ${namespace}); backups go to ${config.backupDir}`);
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
