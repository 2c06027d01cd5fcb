import type { Info } from '@temporalio/activity';

/**
 * Dumps that a `compress` step may follow while pg_dump is still writing them. A run's file
 * steps all go to the task queue of one worker process, so the dump and the compress that
 * follows it always meet here, in memory; nothing about them needs to be on disk or in history.
 */
export interface LiveDump {
  /** Where the finished dump appears (`<name>.sql`), and where pg_dump writes until then. */
  sqlPath: string;
  partPath: string;
  /** The inode pg_dump writes: the follower checks it opened this very file. */
  ino: number;
  /** The database's size, the dump's expected size (an estimate), when it could be read. */
  expectedBytes?: number;
  /** `complete` once `<name>.sql` is whole, fsynced and in place; `failed` if this attempt gave up. */
  state(): DumpState;
}

/** How long a published dump that no compress came for stays known (an hour: plenty for a queued step). */
const KEEP_PUBLISHED_MS = 60 * 60 * 1000;

export type DumpState = 'writing' | 'complete' | 'failed';

const live = new Map<string, LiveDump>();
const waiters = new Map<string, Set<() => void>>();

/** One key per workflow run: the dump and its follower carry the same run in their activity info. */
export function runKey(info: Pick<Info, 'workflowExecution' | 'activityId'>): string {
  const run = info.workflowExecution;
  // An activity outside any workflow has nothing to meet: a key no other step shares.
  return run ? `${run.workflowId}/${run.runId}` : `standalone activity ${info.activityId}`;
}

/** Called by `dump` once it holds `<name>.sql.part`; it must then call `complete` (after publishing `<name>.sql`) or `failed`. */
export function announceDump(
  run: string,
  file: { sqlPath: string; partPath: string; ino: number; expectedBytes?: number },
): { complete(): void; failed(): void } {
  let state: DumpState = 'writing';
  const dump: LiveDump = { ...file, state: () => state };
  live.set(run, dump);
  for (const wake of waiters.get(run) ?? []) wake();
  const end = (outcome: 'complete' | 'failed') => {
    if (state !== 'writing') return;
    state = outcome;
    if (outcome === 'failed') forgetDump(run, dump);
    else setTimeout(() => forgetDump(run, dump), KEEP_PUBLISHED_MS).unref();
  };
  return { complete: () => end('complete'), failed: () => end('failed') };
}

/** The dump this run is writing or has just written, waiting up to `waitMs` for it to start. */
export async function awaitDump(run: string, waitMs: number, signal: AbortSignal): Promise<LiveDump | undefined> {
  const known = live.get(run);
  if (known || waitMs <= 0 || signal.aborted) return known;
  await new Promise<void>((resolve) => {
    const set = waiters.get(run) ?? new Set<() => void>();
    waiters.set(run, set);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      set.delete(done);
      if (set.size === 0) waiters.delete(run);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done, { once: true });
    set.add(done);
  });
  return live.get(run);
}

/** Drops the entry, unless a newer attempt of the same run has replaced it. */
export function forgetDump(run: string, dump: LiveDump): void {
  if (live.get(run) === dump) live.delete(run);
}
