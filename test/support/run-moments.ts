import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { descendantsOf, type ProcessEntry } from './process-tree';

/**
 * Moments in a backup run, recognised from the outside (files in the backup directory, the
 * activities the server shows pending, the processes under the worker), for sweeps that cancel
 * or kill at each of them. Recognising beats sleeping: a step's length varies with the
 * machine's load, the moment it starts does not.
 */
export interface RunState {
  files: string[];
  sizes: Record<string, number>;
  /** Activity types the server shows pending (scheduled or started). */
  pending: string[];
  /** Short names (`pg_dump`, `psql`) of the processes under the worker. */
  children: string[];
  /** Their command lines. */
  commandLines: string[];
  /** Milliseconds since the run was started. */
  elapsedMs: number;
}

export interface Moment {
  name: string;
  reached(state: RunState): boolean;
  /** Wait this long once reached (a moment inside a step rather than at its start). */
  thenWaitMs?: number;
}

const has = (s: RunState, pattern: RegExp) => s.files.some((f) => pattern.test(f));

/**
 * The whole run, in order: each moment a run reaches (verification on, beside compress, which
 * runs beside dump; encryption and copies add their own).
 */
export const BACKUP_MOMENTS: Moment[] = [
  { name: 'before dump', reached: () => true },
  // verify is scheduled with dump and compress: it waits for compress and creates its scratch database meanwhile.
  { name: 'verify waiting for compress', reached: (s) => s.pending.includes('verify') && !has(s, /\.sql\.(gz|zst)\.part$/) },
  { name: 'dump claimed its name', reached: (s) => has(s, /\.sql\.part$/) },
  { name: 'pg_dump writing', reached: (s) => s.children.includes('pg_dump') && Object.entries(s.sizes).some(([f, n]) => f.endsWith('.sql.part') && n > 0) },
  { name: 'pg_dump writing, a second in', reached: (s) => s.children.includes('pg_dump'), thenWaitMs: 1000 },
  {
    name: 'verify restoring beside compress',
    reached: (s) => s.pending.includes('verify') && Object.entries(s.sizes).some(([f, n]) => /\.sql\.(gz|zst)\.part$/.test(f) && n > 1_000_000),
    thenWaitMs: 300,
  },
  { name: 'dump published, compress following', reached: (s) => has(s, /\.sql$/) },
  { name: 'compress finishing', reached: (s) => has(s, /\.sql$/) && has(s, /\.sql\.(gz|zst)\.part$/), thenWaitMs: 300 },
  { name: 'compressed, verify finishing', reached: (s) => has(s, /\.sql\.(gz|zst)$/) },
  { name: 'verify started', reached: (s) => s.pending.includes('verify') },
  { name: 'verify restoring', reached: (s) => s.pending.includes('verify') && s.children.includes('psql'), thenWaitMs: 500 },
  { name: 'verify late', reached: (s) => s.pending.includes('verify') && s.children.includes('psql'), thenWaitMs: 1000 },
  { name: 'saving roles', reached: (s) => s.pending.includes('saveRoles') },
  { name: 'stat', reached: (s) => s.pending.includes('stat') },
  { name: 'after stat', reached: (s) => has(s, /\.sql\.(gz|zst)(\.age)?\.sha256$/) },
];

/** The compressing zstd (`-T0`), not verify's `zstd -d`. */
const zstdCompressing = (s: RunState) => s.commandLines.some((c) => /^zstd .*-T\d/.test(c));

/** The same run with `BACKUP_COMPRESSION=zstd`, plus the moments of the zstd program reading the growing dump itself, in segments. */
const afterPgDumpStarted = BACKUP_MOMENTS.findIndex((m) => m.name === 'pg_dump writing, a second in') + 1;
export const ZSTD_BACKUP_MOMENTS: Moment[] = [
  ...BACKUP_MOMENTS.slice(0, afterPgDumpStarted),
  { name: 'zstd reading the growing dump', reached: (s) => zstdCompressing(s) && s.children.includes('pg_dump') },
  {
    name: 'zstd not running while pg_dump writes (before or between segments)',
    reached: (s) => s.children.includes('pg_dump') && has(s, /\.sql\.zst\.part$/) && !zstdCompressing(s),
  },
  ...BACKUP_MOMENTS.slice(afterPgDumpStarted),
];

/** `prefix`: only this run's files (its database and label), when other runs share the directory. */
export async function observe(handle: WorkflowHandle, dir: string, workerPid: number, startedAt: number, prefix = ''): Promise<RunState> {
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(prefix));
  const sizes: Record<string, number> = {};
  for (const f of files) {
    try {
      sizes[f] = fs.statSync(path.join(dir, f)).size;
    } catch {
      /* gone meanwhile */
    }
  }
  const pending = ((await handle.describe()).raw.pendingActivities ?? []).map((p) => p.activityType?.name ?? '');
  const descendants = descendantsOf(workerPid);
  return {
    files,
    sizes,
    pending,
    children: descendants.map((p) => p.comm),
    commandLines: descendants.map((p) => p.cmdline),
    elapsedMs: Date.now() - startedAt,
  };
}

/**
 * Polls until `moment` is reached (then waits its `thenWaitMs`); undefined when the run closed
 * first. After the wait the run is looked at again: `stillThere` says whether it is still in
 * the moment (a fast step can end within the wait, and the run with it).
 */
export async function waitForMoment(
  handle: WorkflowHandle,
  { dir, workerPid, startedAt, prefix, timeoutMs = 120_000 }: { dir: string; workerPid: number; startedAt: number; prefix?: string; timeoutMs?: number },
  moment: Moment,
): Promise<(RunState & { stillThere: boolean }) | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await observe(handle, dir, workerPid, startedAt, prefix);
    if (moment.reached(state)) {
      if (!moment.thenWaitMs) return { ...state, stillThere: true };
      await new Promise((r) => setTimeout(r, moment.thenWaitMs));
      const later = await observe(handle, dir, workerPid, startedAt, prefix);
      return { ...later, stillThere: moment.reached(later) };
    }
    if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
    if (Date.now() > deadline) throw new Error(`moment "${moment.name}" not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Leftovers {
  files: string[];
  processes: ProcessEntry[];
  scratchDatabases: string[];
  /** Sessions of this project (application_name) still connected to the server. */
  sessions: string[];
}

/**
 * What a run left behind: files in its directory (only names starting with `prefix`, the
 * database name, so that other tests' files never count), processes under the worker, scratch
 * databases and sessions on the server. Processes get `settleMs` to be reaped first.
 */
export async function leftovers({
  dir,
  prefix,
  workerPid,
  adminUrl,
  settleMs = 5000,
}: {
  dir: string;
  prefix: string;
  workerPid: number;
  adminUrl: string;
  settleMs?: number;
}): Promise<Leftovers> {
  // tsx keeps an esbuild service under a worker started from the sources: not the run's.
  const ours = () => descendantsOf(workerPid).filter((p) => p.comm !== 'esbuild');
  const deadline = Date.now() + settleMs;
  while (ours().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const scratch = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'pgbw\\_verify\\_%' ORDER BY 1`);
    const sessions = await client.query<{ s: string }>(
      `SELECT datname || ' ' || state || ' ' || left(query, 60) AS s FROM pg_stat_activity WHERE application_name = 'pg-backup-workflow' AND pid <> pg_backend_pid()`,
    );
    return {
      files: fs.readdirSync(dir).filter((f) => f.startsWith(prefix)),
      processes: ours(),
      scratchDatabases: scratch.rows.map((r) => r.datname),
      sessions: sessions.rows.map((r) => r.s),
    };
  } finally {
    await client.end();
  }
}
