import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ageOf } from './directory-clock';
import { canCheckHere, currentProcessIdentity, processStartTime, type ProcessIdentity } from './process-identity';
import { FinalNameTaken, publishFile, syncDirectory } from './publish';

/**
 * Who made a backup's files, so that a cleanup can tell "mine", "dead", "stale" and "leave it"
 * apart on a directory that several hosts share. One record per backup name
 * (`<base>.owner`, JSON, beside the files it covers, so every host that sees the files sees
 * the record): the workflow run and activity attempt that made them, the process (host, boot,
 * PID namespace, pid and its start time), the files and scratch databases it made or is about
 * to make, and a lease the writer renews every `leaseMs` while the run holds the files.
 *
 * A reader decides (see `decideOwnership`):
 * - `dead`: the writer was on this host (same boot and PID namespace, so /proc can answer) and
 *   its process is gone, or its pid now belongs to another process (other start time);
 * - `stale`: the writer cannot be checked from here and the record was not rewritten for
 *   `staleAfterIntervals` leases, by the directory's own clock (the file server stamps both
 *   times, so the hosts' clocks need not agree);
 * - `alive`: the writer's process runs on this host, or its lease is fresh;
 * - `unknown`: no record that can be read, or no clock: leave the files alone.
 *
 * The record is written before the files it names (a file never exists without a record that
 * covers it, except in the old format) and removed after them, or when the backup is finished
 * and its files are no longer a run's work in progress.
 */

export const OWNER_SUFFIX = '.owner';
export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_STALE_AFTER_INTERVALS = 6;
/** Whatever the record says, never stale sooner: FAT stamps times to 2 s, NFS clients cache attributes up to 60 s. */
const MIN_STALE_MS = 60_000;

export interface RunRef {
  workflowId: string;
  runId: string;
  /** The activity that wrote the record last, and its attempt (attempts count per activity, not per run). */
  activityId: string;
  attempt: number;
}

export interface OwnerRecord extends RunRef, ProcessIdentity {
  version: 1;
  /** Names in the record's directory that this run made or is about to make. */
  files: string[];
  /** Scratch databases this run created or is about to create (names, on the verify server). */
  databases: string[];
  leaseMs: number;
  /** Random, one per lease: tells a record from the one that replaced it, even when the same process wrote both. */
  leaseId: string;
  /** Incremented at each renewal: a reader that looks twice sees progress without comparing clocks. */
  seq: number;
  /** The writer's own clock, for people reading the file; decisions use the directory's clock. */
  writtenAt: string;
}

export type Verdict =
  { verdict: 'dead'; why: string } | { verdict: 'stale'; why: string } | { verdict: 'alive'; why: string } | { verdict: 'unknown'; why: string };

export interface OwnershipFacts {
  /** This process: decides whether /proc here can speak for the writer. */
  here: Pick<ProcessIdentity, 'bootId' | 'pidNamespace'>;
  /** Start time of `record.pid` on this host (only looked at when `here` can check it); undefined: no such process. */
  ownerStartTime: string | undefined;
  /** Time since the record was last written, by the directory's clock; undefined when unknown. */
  leaseAgeMs: number | undefined;
  staleAfterIntervals?: number;
  /** Floor of the stale age (default a minute); tests of a lease that runs out use less. */
  minStaleMs?: number;
}

/** The decision itself, without I/O. */
export function decideOwnership(record: OwnerRecord, facts: OwnershipFacts): Verdict {
  if (canCheckHere(record, facts.here)) {
    if (facts.ownerStartTime === undefined) return { verdict: 'dead', why: `process ${record.pid} on this host is gone` };
    if (facts.ownerStartTime !== record.pidStartTime) {
      return {
        verdict: 'dead',
        why: `pid ${record.pid} on this host now belongs to another process (started at tick ${facts.ownerStartTime}, not ${record.pidStartTime})`,
      };
    }
    // Alive wins over a late lease: the process is right here, and a busy event loop is not a dead writer.
    return { verdict: 'alive', why: `process ${record.pid} on this host is running` };
  }
  if (facts.leaseAgeMs === undefined) return { verdict: 'unknown', why: `written on ${record.host} (not checkable from here) and its age cannot be read` };
  const staleAfterMs = staleAfter(record, facts.staleAfterIntervals, facts.minStaleMs);
  if (facts.leaseAgeMs > staleAfterMs) {
    return { verdict: 'stale', why: `written on ${record.host}, not renewed for ${seconds(facts.leaseAgeMs)} (stale after ${seconds(staleAfterMs)})` };
  }
  return { verdict: 'alive', why: `written on ${record.host}, renewed ${seconds(facts.leaseAgeMs)} ago` };
}

function staleAfter(record: OwnerRecord, intervals = DEFAULT_STALE_AFTER_INTERVALS, minStaleMs = MIN_STALE_MS): number {
  const leaseMs = Number.isFinite(record.leaseMs) && record.leaseMs > 0 ? record.leaseMs : DEFAULT_LEASE_MS;
  return Math.max(minStaleMs, intervals * leaseMs);
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** True when the record was made by an earlier activity execution of the same workflow run (a retry, or the run after it moved). */
export function madeByEarlierExecutionOf(record: Pick<RunRef, 'workflowId' | 'runId' | 'activityId' | 'attempt'>, run: RunRef): boolean {
  if (record.workflowId !== run.workflowId || record.runId !== run.runId) return false;
  return record.activityId !== run.activityId || record.attempt < run.attempt;
}

export function ownerRecordPath(dir: string, base: string): string {
  return path.join(dir, `${base}${OWNER_SUFFIX}`);
}

/** Reads a record; undefined when missing or not one of ours (then nothing may be decided from it). */
export async function readOwnerRecord(recordPath: string): Promise<OwnerRecord | undefined> {
  let text: string;
  try {
    text = await fs.readFile(recordPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as OwnerRecord;
    const names = [...(record.files ?? []), ...(record.databases ?? [])];
    if (record.version !== 1 || typeof record.pid !== 'number' || typeof record.leaseId !== 'string') return undefined;
    if (!names.every((n) => typeof n === 'string' && !n.includes('/'))) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/**
 * The same, read again a few times while it is missing or unreadable: where rename does not
 * replace atomically (fusefat, some SMB servers) a reader can find no record, or for a moment
 * a zero-filled one, while the writer renews it.
 */
async function readSettled(recordPath: string, tries = 4, pauseMs = 25): Promise<OwnerRecord | undefined> {
  for (let i = 1; ; i++) {
    const record = await readOwnerRecord(recordPath);
    if (record || i >= tries) return record;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Reads the record and judges it with this process's view of the host and the directory's clock. */
export async function judgeOwnerRecord(
  recordPath: string,
  options: { staleAfterIntervals?: number; minStaleMs?: number } = {},
): Promise<{ record?: OwnerRecord } & Verdict> {
  const record = await readSettled(recordPath);
  if (!record) return { verdict: 'unknown', why: `${path.basename(recordPath)} is missing or unreadable` };
  const here = await currentProcessIdentity();
  const ownerStartTime = canCheckHere(record, here) ? await processStartTime(record.pid) : undefined;
  const leaseAgeMs = await ageOf(recordPath);
  return {
    record,
    ...decideOwnership(record, { here, ownerStartTime, leaseAgeMs, staleAfterIntervals: options.staleAfterIntervals, minStaleMs: options.minStaleMs }),
  };
}

/** Writes `record` over `recordPath` atomically (a temporary file, fsynced, renamed): a reader sees the old or the new record, whole. */
async function replaceRecord(recordPath: string, record: OwnerRecord): Promise<void> {
  const temp = tempPathFor(recordPath);
  await writeSynced(temp, record);
  try {
    await fs.rename(temp, recordPath);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(recordPath));
}

async function writeSynced(file: string, record: OwnerRecord): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function tempPathFor(recordPath: string): string {
  return `${recordPath}-tmp-${randomBytes(4).toString('hex')}`;
}

/** Temporary files of `replaceRecord` (`<base>.owner-tmp-<hex>`): a crash between write and rename leaves one; sweeps remove them with their record. */
export function isRecordTemp(name: string): boolean {
  return /\.owner-tmp-[0-9a-f]{8}$/.test(name);
}

export class OwnerRecordExists extends Error {
  constructor(readonly recordPath: string) {
    super(`${path.basename(recordPath)} exists: another run holds this backup name`);
  }
}

/**
 * A record this process holds and renews. `claim` creates it only where none exists (the
 * record doubles as the claim of the backup name); `takeOver` replaces one a reader judged
 * dead or stale, or one an earlier execution of the same run left.
 */
export class OwnerLease {
  private timer?: NodeJS.Timeout;
  private lost = false;
  private renewing: Promise<void> = Promise.resolve();

  private constructor(
    readonly recordPath: string,
    private record: OwnerRecord,
    private readonly onLost: (why: string) => void,
  ) {}

  static async claim(recordPath: string, run: RunRef, options: LeaseOptions = {}): Promise<OwnerLease> {
    const lease = new OwnerLease(recordPath, await newRecord(run, options), options.onLost ?? (() => undefined));
    const temp = tempPathFor(recordPath);
    await writeSynced(temp, lease.record);
    try {
      await publishFile(temp, recordPath);
    } catch (err) {
      await fs.rm(temp, { force: true });
      if (err instanceof FinalNameTaken) throw new OwnerRecordExists(recordPath);
      throw err;
    }
    lease.start();
    return lease;
  }

  static async takeOver(recordPath: string, run: RunRef, previous: OwnerRecord, options: LeaseOptions = {}): Promise<OwnerLease> {
    // Only the record that was judged: had its owner renewed it, or another reader taken it over meanwhile, leave it.
    const onDisk = await readSettled(recordPath);
    if (!onDisk || onDisk.leaseId !== previous.leaseId || onDisk.seq !== previous.seq) {
      throw new OwnerRecordExists(recordPath);
    }
    const record = await newRecord(run, options);
    // What the previous owner made is now this run's to finish or remove.
    record.files = [...previous.files];
    record.databases = [...previous.databases];
    const lease = new OwnerLease(recordPath, record, options.onLost ?? (() => undefined));
    await replaceRecord(recordPath, record);
    lease.start();
    return lease;
  }

  get current(): Readonly<OwnerRecord> {
    return this.record;
  }

  /** Adds names before the files or databases are made, so a crash right after leaves them covered. */
  add(names: { files?: string[]; databases?: string[] }): Promise<void> {
    return this.update((r) => ({
      ...r,
      files: [...new Set([...r.files, ...(names.files ?? [])])],
      databases: [...new Set([...r.databases, ...(names.databases ?? [])])],
    }));
  }

  /** Drops names once those files or databases are gone (or have become a finished backup). */
  forget(names: { files?: string[]; databases?: string[] }): Promise<void> {
    return this.update((r) => ({
      ...r,
      files: r.files.filter((f) => !names.files?.includes(f)),
      databases: r.databases.filter((d) => !names.databases?.includes(d)),
    }));
  }

  /** Rewrites the record (seq + 1). Refuses, and reports the lease lost, if someone else's record has replaced it. */
  renew(): Promise<void> {
    return this.update((r) => r);
  }

  /** One write at a time, each from the record the previous one left: a renewal never undoes an `add`. */
  private update(change: (record: OwnerRecord) => OwnerRecord): Promise<void> {
    const next = this.renewing.then(async () => {
      if (this.lost) throw new Error(`lease on ${path.basename(this.recordPath)} was lost`);
      const onDisk = await readSettled(this.recordPath);
      if (!onDisk || onDisk.leaseId !== this.record.leaseId || onDisk.seq !== this.record.seq) {
        this.lost = true;
        this.stop();
        this.onLost(
          onDisk ? `${path.basename(this.recordPath)} now belongs to ${onDisk.host} pid ${onDisk.pid}` : `${path.basename(this.recordPath)} was removed`,
        );
        throw new Error(`lease on ${path.basename(this.recordPath)} was lost`);
      }
      const written = { ...change(this.record), seq: this.record.seq + 1, writtenAt: new Date().toISOString() };
      await replaceRecord(this.recordPath, written);
      this.record = written;
    });
    this.renewing = next.catch(() => undefined);
    return next;
  }

  /** Stops renewing and removes the record: its files are gone or finished. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    if (!this.lost) await fs.rm(this.recordPath, { force: true });
  }

  /** Stops renewing, keeps the record (as a crash would). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  isLost(): boolean {
    return this.lost;
  }

  private start(): void {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), this.record.leaseMs);
    this.timer.unref();
  }
}

export interface LeaseOptions {
  leaseMs?: number;
  files?: string[];
  databases?: string[];
  /** Called once if the record was replaced or removed by someone else: stop writing these files. */
  onLost?: (why: string) => void;
}

async function newRecord(run: RunRef, options: LeaseOptions): Promise<OwnerRecord> {
  return {
    version: 1,
    ...run,
    ...(await currentProcessIdentity()),
    files: options.files ?? [],
    databases: options.databases ?? [],
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    leaseId: randomBytes(8).toString('hex'),
    seq: 0,
    writtenAt: new Date().toISOString(),
  };
}
