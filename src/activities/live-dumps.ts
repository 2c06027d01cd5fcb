import fs from 'node:fs/promises';
import type { Info } from '@temporalio/activity';

/**
 * Files that a later step of the same run follows while an earlier step still writes them:
 * `compress` reads pg_dump's `.sql.part` as it grows, and `verify` reads compress's output as
 * it grows. A run's file steps all go to the task queue of one worker process, so the writer
 * and its follower always meet here, in memory; nothing about them needs to be on disk or in
 * history.
 */
export type LiveState = 'writing' | 'complete' | 'failed';

/** A file being written, as its follower sees it. */
export type Followed<F, R> = F & {
  /** `complete` once the final file is whole and in place; `failed` if this attempt gave up. */
  state(): LiveState;
  /** What the writer reported when it completed (undefined before). */
  result(): R | undefined;
};

/** What the writer calls once: `complete` after publishing its final file, `failed` if its attempt gave up. */
export interface Announced<R> {
  complete(result: R): void;
  failed(): void;
}

export interface DumpFile {
  /** Where the finished dump appears (`<name>.sql`), and where pg_dump writes until then. */
  sqlPath: string;
  partPath: string;
  /** The inode pg_dump writes: the follower checks it opened this very file. */
  ino: number;
  /** The database's size, the dump's expected size (an estimate), when it could be read. */
  expectedBytes?: number;
}

/** What a finished dump tells the steps that followed it: the source's counts in the dump's snapshot (with verification on). */
export interface DumpCounts {
  rowCounts?: Record<string, number>;
  largeObjects?: number;
}

export type LiveDump = Followed<DumpFile, DumpCounts>;

export interface CompressionFile {
  /** The final compressed file (`<name>.sql.gz` or `.sql.zst`) and the `.part` written until it is whole. */
  path: string;
  partPath: string;
  /** The `.part`'s inode: the follower checks it opened this very file. */
  ino: number;
  /** The dump attempt this compress follows: its counts are what the restored rows must match. */
  dump: LiveDump;
}

/** Size and sha256 of the finished compressed file, computed while it was written. */
export interface CompressionResult {
  bytes: number;
  sha256: string;
}

export type LiveCompression = Followed<CompressionFile, CompressionResult>;

/** How long a finished file that no follower came for stays known (an hour: plenty for a queued step). */
const KEEP_PUBLISHED_MS = 60 * 60 * 1000;

/** One kind of followed file, per run: the latest attempt's. */
class LiveFiles<F extends object, R> {
  private readonly live = new Map<string, Followed<F, R>>();
  private readonly waiters = new Map<string, Set<() => void>>();

  /**
   * `keepFailed`: a failed attempt stays known (as failed) until a newer one replaces it, so a
   * follower that comes late learns at once that there is nothing to follow. Without it, a
   * follower that comes late waits for the writer's next attempt instead.
   */
  constructor(private readonly keepFailed = false) {}

  announce(run: string, file: F): Announced<R> {
    let state: LiveState = 'writing';
    let result: R | undefined;
    const entry: Followed<F, R> = { ...file, state: () => state, result: () => result };
    this.live.set(run, entry);
    for (const wake of this.waiters.get(run) ?? []) wake();
    const end = (outcome: 'complete' | 'failed', value?: R) => {
      if (state !== 'writing') return;
      result = value;
      state = outcome;
      if (outcome === 'failed' && !this.keepFailed) this.forget(run, entry);
      else setTimeout(() => this.forget(run, entry), KEEP_PUBLISHED_MS).unref();
    };
    return { complete: (value) => end('complete', value), failed: () => end('failed') };
  }

  async await(run: string, waitMs: number, signal: AbortSignal): Promise<Followed<F, R> | undefined> {
    const known = this.live.get(run);
    if (known || waitMs <= 0 || signal.aborted) return known;
    await new Promise<void>((resolve) => {
      const set = this.waiters.get(run) ?? new Set<() => void>();
      this.waiters.set(run, set);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(run);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
    return this.live.get(run);
  }

  /** Drops the entry, unless a newer attempt of the same run has replaced it. */
  forget(run: string, entry: Followed<F, R>): void {
    if (this.live.get(run) === entry) this.live.delete(run);
  }
}

// A compress that comes late waits for the dump's retry: it can still follow that one.
const dumps = new LiveFiles<DumpFile, DumpCounts>();
// A verify that comes late must not wait: a compress after a failed one runs after the dump, not beside it.
const compressions = new LiveFiles<CompressionFile, CompressionResult>(true);

/** One key per workflow run: a writer and its follower carry the same run in their activity info. */
export function runKey(info: Pick<Info, 'workflowExecution' | 'activityId'>): string {
  const run = info.workflowExecution;
  // An activity outside any workflow has nothing to meet: a key no other step shares.
  return run ? `${run.workflowId}/${run.runId}` : `standalone activity ${info.activityId}`;
}

/** Called by `dump` once it holds `<name>.sql.part`; it must then call `complete` (after publishing `<name>.sql`) or `failed`. */
export function announceDump(run: string, file: DumpFile): Announced<DumpCounts> {
  return dumps.announce(run, file);
}

/** The dump this run is writing or has just written, waiting up to `waitMs` for it to start. */
export function awaitDump(run: string, waitMs: number, signal: AbortSignal): Promise<LiveDump | undefined> {
  return dumps.await(run, waitMs, signal);
}

export function forgetDump(run: string, dump: LiveDump): void {
  dumps.forget(run, dump);
}

/** Called by a `compress` beside the dump once it holds its `.part`; then `complete` (after publishing) or `failed`. */
export function announceCompression(run: string, file: CompressionFile): Announced<CompressionResult> {
  return compressions.announce(run, file);
}

/** The compressed file this run is writing or has just written, waiting up to `waitMs` for it to start. */
export function awaitCompression(run: string, waitMs: number, signal: AbortSignal): Promise<LiveCompression | undefined> {
  return compressions.await(run, waitMs, signal);
}

export function forgetCompression(run: string, compression: LiveCompression): void {
  compressions.forget(run, compression);
}

/**
 * Opens an announced file by one of its names (`.part` first: the writer links the final name
 * before it unlinks the `.part`, so when the first is gone the second is there), and only if it
 * is the very inode the writer announced; undefined when neither name holds it.
 */
export async function openAnnounced(names: string[], ino: number): Promise<fs.FileHandle | undefined> {
  for (const file of names) {
    const handle = await fs.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) continue;
    if ((await handle.stat()).ino === ino) return handle;
    await handle.close();
  }
  return undefined;
}
