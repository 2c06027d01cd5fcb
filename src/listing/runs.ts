import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { BackupResult } from '../common/types';
import type { Env } from '../config/registry';
import { TemporalUnreachable } from '../temporal/connect-failure';
import { connectClient, temporalConnectConfig } from '../temporal/connection';
import { completedRunResult, listCompletedBackupRuns } from './completed-runs';

/** What Temporal remembers of the run that wrote a file. `copies` comes from the off-host copy steps, when they ran. */
export type RunRecord = Pick<BackupResult, 'environment' | 'fileName' | 'filePath' | 'startedAt' | 'verification'> & {
  workflowId: string;
  runId: string;
  copies?: Array<{ target: string }>;
};

/** `error`, when unreachable, is a whole sentence: where, which setting, why. */
export type RunLookup = { reachable: true; address: string; byFileName: Map<string, RunRecord> } | { reachable: false; address: string; error: string };

const CONNECT_TIMEOUT_MS = 5_000;
const LOOKUP_TIMEOUT_MS = 60_000;
const CONCURRENCY = 8;

/**
 * The completed backupDatabase runs that may have written these files, by file name. Bounded:
 * only runs that closed after the oldest file was written, and only of labels the names allow.
 * Any failure (server down, TLS, permissions) gives `reachable: false`, never an exception.
 */
export async function lookUpRuns(dir: string, files: Array<{ fileName: string; mtime: Date; labels: string[] }>, env: Env): Promise<RunLookup> {
  // Outside the try: a malformed TEMPORAL_ADDRESS is a configuration error (exit code 2), not "unreachable".
  const { address } = temporalConnectConfig(env).target;
  let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    connection = await connectClient(env, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const client = connection.client;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS / 1000}s`)), LOOKUP_TIMEOUT_MS);
    });
    const byFileName = await Promise.race([collect(client, dir, files), timeout]);
    return { reachable: true, address, byFileName };
  } catch (err) {
    // The same sentence as every command's for a failed connect; a failure after it says so.
    const error =
      err instanceof TemporalUnreachable ? err.message : `Temporal at ${address} failed the lookup: ${err instanceof Error ? err.message : String(err)}`;
    return { reachable: false, address, error };
  } finally {
    clearTimeout(timer);
    await connection?.close().catch(() => undefined);
  }
}

async function collect(client: Client, dir: string, files: Array<{ fileName: string; mtime: Date; labels: string[] }>): Promise<Map<string, RunRecord>> {
  const byFileName = new Map<string, RunRecord>();
  if (files.length === 0) return byFileName;
  const labels = new Set(files.flatMap((f) => f.labels));
  const wanted = new Set(files.map((f) => f.fileName));
  // A run closes after its file is written; a day's margin covers clocks that disagree.
  const since = new Date(Math.min(...files.map((f) => f.mtime.getTime())) - 86_400_000);
  const runs = (await listCompletedBackupRuns(client, { since })).filter((r) => !r.environment || labels.has(r.environment));
  for (let i = 0; i < runs.length; i += CONCURRENCY) {
    const batch = runs.slice(i, i + CONCURRENCY);
    const results = await Promise.all(batch.map((run) => completedRunResult<RunRecord>(client, run)));
    results.forEach((result, j) => {
      if (!result?.fileName || !wanted.has(result.fileName)) return;
      const record = { ...result, workflowId: batch[j].workflowId, runId: batch[j].runId };
      // Another host may have written a file of the same name elsewhere: prefer the run that wrote it here.
      const here = path.dirname(result.filePath ?? '') === dir;
      if (here || !byFileName.has(result.fileName)) byFileName.set(result.fileName, record);
    });
  }
  return byFileName;
}
