import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig } from './config';
import { defaultEnvironment } from './config/env';
import { createDemoDatabase } from './dev/demo-database';
import { startThrowawayCluster, type ThrowawayCluster } from './dev/postgres-cluster';
import { startEmbeddedTemporal, type EmbeddedTemporal } from './dev/temporal-server';
import { temporalConnectConfig } from './temporal-connection';
import { createBackupWorkers, runWorkers } from './worker-setup';

/**
 * `npm start`: one real backup, end to end, then exit. Uses TEMPORAL_ADDRESS and DATABASE_URL
 * when set; otherwise starts an embedded Temporal dev server and/or a throwaway PostgreSQL
 * with a small demo database, and removes them afterwards.
 */
async function main(): Promise<void> {
  const environment = process.argv[2] ?? defaultEnvironment(process.env);
  const cleanups: Array<() => Promise<void>> = [];
  try {
    let cluster: ThrowawayCluster | undefined;
    if (!process.env.DATABASE_URL) {
      console.log('DATABASE_URL is not set: starting a throwaway PostgreSQL with a demo database "resee_demo"…');
      cluster = await startThrowawayCluster();
      cleanups.unshift(() => cluster!.stop());
      process.env.DATABASE_URL = await createDemoDatabase(cluster.adminUrl, 'resee_demo');
    }
    const config = loadWorkerConfig();

    let temporal: EmbeddedTemporal | undefined;
    if (!process.env.TEMPORAL_ADDRESS) {
      console.log('TEMPORAL_ADDRESS is not set: starting an embedded Temporal dev server…');
      temporal = await startEmbeddedTemporal();
      cleanups.unshift(() => temporal!.stop());
    }
    const { connectionOptions, namespace } = temporalConnectConfig(temporal ? { ...process.env, TEMPORAL_ADDRESS: temporal.address } : process.env);

    const workerConnection = await NativeConnection.connect(connectionOptions);
    cleanups.unshift(() => workerConnection.close());
    const workers = await createBackupWorkers({ connection: workerConnection, namespace, config });
    const running = runWorkers(workers);
    cleanups.unshift(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    });

    const connection = await Connection.connect(connectionOptions);
    cleanups.unshift(() => connection.close());
    const client = new Client({ connection, namespace });
    const workflowId = `backup-${environment}-manual-${Date.now()}`;
    console.log(`starting backupDatabase(${JSON.stringify(environment)}) as ${workflowId} on ${connectionOptions.address}…`);
    const result = await client.workflow.execute('backupDatabase', { taskQueue: config.taskQueue, workflowId, args: [environment] });

    console.log('\nbackup completed:');
    console.log(JSON.stringify(result, null, 2));
    console.log(`\ncheck it:   ls -lh ${config.backupDir}/*.sql.gz && (cd ${config.backupDir} && sha256sum -c ${result.fileName}.sha256)`);
    if (temporal) {
      console.log('the embedded Temporal server stops now; `npm run dev` keeps one running with its Web UI.');
    } else {
      console.log(`its history:  temporal workflow show --address ${connectionOptions.address} --namespace ${namespace} --workflow-id ${workflowId}`);
    }
    if (cluster) console.log('the demo PostgreSQL is removed now; the backup file stays.');
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((err) => console.error('cleanup:', err));
  }
}

// Ctrl-C or a kill still runs the exit hooks that remove the throwaway servers.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
