import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError } from './config';
import { loadStandaloneWatchdogConfig } from './freshness/config';
import { createWatchdogWorker } from './freshness/worker';
import { temporalConnectConfig } from './temporal-connection';

/** `npm run watchdog`: runs the hourly freshness checks. Needs TEMPORAL_* and SLACK_WEBHOOK_URL, no database. */
async function main(): Promise<void> {
  const config = loadStandaloneWatchdogConfig();
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const worker = await createWatchdogWorker({ connection, namespace, config, client: new Client({ connection, namespace }) });
    console.log(
      `backup watchdog polling "${config.taskQueue}" on ${connectionOptions.address} (namespace ${namespace}); Slack ${config.slackWebhookUrl ? 'on' : 'off (SLACK_WEBHOOK_URL unset)'}`,
    );
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
