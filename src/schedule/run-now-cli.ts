import { labelProblem } from '../common/label';
import { backupTaskQueue, defaultEnvironment } from '../config/env';
import { ConfigError } from '../config/config-error';
import { connectClient } from './connect';
import { InvalidLabelError, backupNow } from './run-now';

export const BACKUP_NOW_HELP = `Usage: npm run backup:now -- [label]

Starts backupDatabase(label) now, outside the schedule, waits for it and prints its result as
JSON on stdout. The label defaults to BACKUP_ENVIRONMENT, else "production". A backup worker
must be running on BACKUP_TASK_QUEUE (default backups); TEMPORAL_* variables select the server.
Exit codes: 0 done, 1 the backup failed (message on stderr), 2 bad label or configuration.`;

/** Resolves to the process exit code; progress goes to stderr so stdout stays pure JSON. */
export async function runBackupNowCli(label: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const environment = label ?? defaultEnvironment(env);
  const taskQueue = backupTaskQueue(env);
  const problem = labelProblem(environment);
  if (problem) {
    console.error(problem);
    return 2;
  }
  let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    connection = await connectClient(env);
    const result = await backupNow(connection.client, {
      environment,
      taskQueue,
      onStarted: (id) => console.error(`started ${id} on task queue ${taskQueue} at ${connection!.address}; waiting for it to finish…`),
    });
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof InvalidLabelError || err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await connection?.close();
  }
}
