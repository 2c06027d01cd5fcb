import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { innermostMessage } from '../common/errors';
import type { BackupResult } from '../common/types';
import { databaseFor, loadWorkerConfig } from '../config';
import { isSet, option, type Env, type OptionName } from '../config/registry';
import { loadMetricsConfig } from '../config/metrics';
import { loadScheduleConfig } from '../config/schedule';
import { upsertBackupSchedules } from '../schedule/manage';
import { backupRunMetadata } from '../schedule/run-now';
import { connectClient } from '../temporal/connection';
import { connectNative } from '../temporal/native-connection';
import { ensureAndDescribe } from '../temporal/search-attributes';
import { installRuntime, seedLastSuccess } from '../temporal/telemetry';
import { createBackupWorkers, runWorkers } from '../temporal/workers';
import { createDemoDatabase } from './demo-database';
import { PROJECT_ROOT } from './paths';
import { freePort, startThrowawayCluster, type ThrowawayCluster } from './postgres-cluster';
import { planLocalStack } from './preflight';
import { startEmbeddedTemporal, type EmbeddedTemporal } from './temporal-server';

const ROOT = PROJECT_ROOT;
const RUN_DIR = path.join(ROOT, '.run');
/** Defaults that differ from production (the variable, when set, wins): retries visible within seconds rather than five minutes. */
export const DEV_DEFAULTS: Partial<Record<OptionName, string>> = {
  BACKUP_DIR: path.join(RUN_DIR, 'backups'),
  BACKUP_RETRY_INTERVAL: '10s',
};
/** Each shutdown step gets this long; a wedged one must not keep Ctrl-C from finishing. */
const CLEANUP_TIMEOUT_MS = 20_000;

class Interrupted extends Error {}

/** Log fields a person watching the terminal does not need (the UI shows them all). */
const QUIET_FIELDS = new Set(['sdkComponent', 'taskToken', 'namespace', 'isLocal', 'workflowType', 'workflowRunId', 'taskQueue', 'activityId']);

/** SDK messages that are expected here (the host worker runs no workflows) and would only alarm. */
const BENIGN = ['No workflows registered', 'No Nexus services registered', 'asset workflow-bundle'];

/** One line per worker log entry: `04:32:03 INFO pg_dump finished activityType=dump attempt=1 bytes=7583958`. */
function compactLogLine({ level, message, meta }: LogEntry): string {
  const fields = Object.entries(meta ?? {})
    .filter(([key, value]) => !QUIET_FIELDS.has(key) && value !== undefined)
    .map(
      ([key, value]) => `${key}=${value instanceof Error ? JSON.stringify(value.message) : typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
    );
  return [new Date().toISOString().slice(11, 19), level, message.split('\n')[0], ...fields].join(' ');
}

export interface DevStackOptions {
  /** Start the first backup right away (default true). */
  backup: boolean;
  /** Keep the embedded server's history in memory only. */
  inMemory: boolean;
}

/**
 * `dev`: the whole stack for a person to watch, until Ctrl-C: a Temporal dev server with its
 * Web UI (unless TEMPORAL_ADDRESS), a throwaway PostgreSQL with the demo database (unless
 * DATABASE_URL), the worker, the daily Schedule and one backup started right away.
 */
export async function runDevStack(baseEnv: Env, options: DevStackOptions): Promise<number> {
  const env: Record<string, string | undefined> = { ...baseEnv };
  for (const [name, value] of Object.entries(DEV_DEFAULTS) as Array<[OptionName, string]>) if (!isSet(env, name)) env[name] = value;
  // Every configuration is validated before anything is started (the metrics exporter included): a typo costs no waiting.
  const scheduleConfig = loadScheduleConfig(env);
  const metrics = loadMetricsConfig(env);
  const configuredUiUrl = option(env, 'TEMPORAL_UI_URL')?.replace(/\/+$/, '');
  const plan = await planLocalStack(env);

  // Ctrl-C (or SIGTERM) once: shut down cleanly. Twice: leave now.
  let stopRequested: string | undefined;
  let onStop: (signal: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (onStop = resolve));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopRequested) {
        console.error(`\n${signal} again: exiting without finishing the cleanup`);
        process.exit(130);
      }
      stopRequested = signal;
      console.log(`\n${signal}: shutting down (press Ctrl-C again to force)…`);
      onStop(signal);
    });
  }
  const checkpoint = () => {
    if (stopRequested) throw new Interrupted();
  };

  installRuntime({
    metrics,
    logger: new DefaultLogger('INFO', (entry) => {
      if (BENIGN.some((prefix) => entry.message.startsWith(prefix))) return;
      (entry.level === 'ERROR' || entry.level === 'WARN' ? console.error : console.log)(compactLogLine(entry));
    }),
  });

  const cleanups: Array<{ what: string; run: () => Promise<void> }> = [];
  const lines: string[] = [];
  try {
    let cluster: ThrowawayCluster | undefined;
    if (plan.demoDatabase) {
      console.log('DATABASE_URL is not set: starting a throwaway PostgreSQL with the demo database "resee_demo"…');
      cluster = await startThrowawayCluster({ env });
      cleanups.unshift({ what: 'PostgreSQL', run: () => cluster!.stop() });
      env.DATABASE_URL = await createDemoDatabase(cluster.adminUrl, 'resee_demo');
      lines.push(`PostgreSQL       demo database resee_demo on 127.0.0.1:${cluster.port} (throwaway: removed on exit)`);
    }
    checkpoint();
    const config = loadWorkerConfig(env);
    if (!plan.demoDatabase) lines.push(`PostgreSQL       DATABASE_URL (${config.database.safeUri})`);
    fs.mkdirSync(config.backupDir, { recursive: true });

    let temporal: EmbeddedTemporal | undefined;
    let uiUrl = configuredUiUrl;
    if (plan.embeddedTemporal) {
      fs.mkdirSync(RUN_DIR, { recursive: true });
      const dbFilename = options.inMemory ? undefined : path.join(RUN_DIR, 'dev-temporal.sqlite');
      // 7233 when free, so the `temporal` CLI's default address works as well.
      const port = (await portIsFree(7233)) ? 7233 : await freePort();
      console.log(`TEMPORAL_ADDRESS is not set: starting a Temporal dev server with its Web UI on 127.0.0.1:${port}…`);
      temporal = await startEmbeddedTemporal({ ui: true, port, dbFilename, cliPath: plan.temporalCli });
      cleanups.unshift({ what: 'Temporal dev server', run: () => temporal!.stop() });
      uiUrl = temporal.uiUrl;
      lines.push(
        `Temporal server  ${temporal.address}, namespace default; history ${dbFilename ? `kept in ${path.relative(ROOT, dbFilename)} (delete it to start empty)` : 'in memory (gone on exit)'}`,
      );
    }
    checkpoint();
    const where = { embeddedAddress: temporal?.address };
    const { connection: workerConnection, address, namespace } = await connectNative(env, where);
    if (!temporal) lines.push(`Temporal server  ${address}, namespace ${namespace} (TEMPORAL_ADDRESS)`);
    const ui = (suffix: string) => (uiUrl ? `${uiUrl}/namespaces/${encodeURIComponent(namespace)}${suffix}` : undefined);

    console.log('starting the backup worker (bundling the workflow code takes a few seconds)…');
    cleanups.unshift({ what: 'worker connection', run: () => workerConnection.close() });
    const workers = await createBackupWorkers({ connection: workerConnection, namespace, config });
    const running = runWorkers(workers);
    cleanups.unshift({
      what: 'worker',
      run: async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
      },
    });
    lines.push(`worker           task queues "${config.taskQueue}" and "${config.hostTaskQueue}"; backups go to ${config.backupDir}`);
    lines.push(`                 retries: ${config.policy.maximumAttempts} attempts, ${config.policy.retryIntervalMs / 1000}s apart`);
    checkpoint();

    const { client, connection, close } = await connectClient(env, where);
    cleanups.unshift({ what: 'client connection', run: close });
    // The embedded server registers the runs' search attributes as it starts; another server gets them here where it allows.
    if (!temporal) for (const line of await ensureAndDescribe(connection, namespace)) lines.push(`search attrs     ${line}`);
    if (metrics) {
      await seedLastSuccess(client, { namespace, taskQueue: config.taskQueue }).catch(() => undefined);
      lines.push(`metrics          http://${metrics.address}/metrics (Prometheus)`);
    }
    for (const scheduleId of await upsertBackupSchedules(client, scheduleConfig)) {
      const target = scheduleConfig.targets.find((t) => t.scheduleId === scheduleId);
      lines.push(
        `schedule         ${scheduleId}: "${target?.environment}" daily at ${scheduleConfig.time} ${scheduleConfig.timeZone}` +
          (ui('') ? `\n                 ${ui(`/schedules/${encodeURIComponent(scheduleId)}`)}` : ''),
      );
    }
    checkpoint();

    let firstRun: string | undefined;
    if (options.backup) {
      const environment = scheduleConfig.targets[0].environment;
      const workflowId = `backup-${environment}-manual-${Date.now()}`;
      const handle = await client.workflow.start('backupDatabase', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [environment],
        ...backupRunMetadata(environment, { database: databaseFor(config, environment).database, command: 'pg-backup-workflow dev' }),
      });
      firstRun = ui(`/workflows/${encodeURIComponent(workflowId)}/${handle.firstExecutionRunId}/history`);
      lines.push(`first backup     backupDatabase("${environment}") as ${workflowId}${firstRun ? `\n                 ${firstRun}` : ''}`);
      handle.result().then(
        (result: BackupResult) => console.log(`first backup completed: ${result.filePath} (${result.size}, sha256 ${result.sha256.slice(0, 12)}…)`),
        (err) => {
          if (!stopRequested) console.log(`first backup failed: ${innermostMessage(err)}${firstRun ? ` (details: ${firstRun})` : ''}`);
        },
      );
    }

    console.log('\npg-backup-workflow dev stack is up');
    console.log(`Web UI           ${ui('/workflows') ?? '(not known: set TEMPORAL_UI_URL to the UI of the server at TEMPORAL_ADDRESS)'}`);
    for (const line of lines) console.log(line);
    console.log(`more backups     npm run backup:now (TEMPORAL_ADDRESS=${address}), or "Trigger" on the schedule's page`);
    console.log('\nPress Ctrl-C to stop.');

    const why = await Promise.race([stopped, running.then(() => 'the worker stopped')]);
    if (why === 'the worker stopped') {
      console.error('the worker stopped unexpectedly (is the Temporal server still up?): shutting down');
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof Interrupted) return 0;
    throw err;
  } finally {
    for (const { what, run } of cleanups) {
      try {
        await withTimeout(run(), CLEANUP_TIMEOUT_MS, `stopping the ${what} took over ${CLEANUP_TIMEOUT_MS / 1000}s`);
        console.log(`stopped the ${what}`);
      } catch (err) {
        console.error(`stopping the ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
