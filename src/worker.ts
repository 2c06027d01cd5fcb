import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig } from './config';
import { temporalConnectConfig } from './temporal-connection';
import { createBackupWorkers, runWorkers } from './worker-setup';

/** `npm run worker`: a long-running backup worker. Configuration comes from the environment. */
async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const workers = await createBackupWorkers({ connection, namespace, config });
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
