import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { canCheckHere, currentProcessIdentity, processStartTime, type ProcessIdentity } from './process-identity';
import { FinalNameTaken, publishFile, syncDirectory } from './publish';

/**
 * What a backup run made, recorded beside it: `<base>.owner`, one JSON record per backup name,
 * naming the workflow run and activity attempt, the worker process (host, boot, PID namespace,
 * pid and its start time), and the files and scratch databases the run made or is about to
 * make. The record is written before the things it names and removed once they are gone, or
 * once they are a finished backup (then they are nobody's work in progress any more).
 *
 * It lets a cleanup tell whose a file is, also in a directory several hosts share, where /proc
 * only sees this host and an open-file check proves nothing:
 * - the record's process is on this host (same boot and PID namespace) and gone: it crashed;
 * - or its run is closed, as Temporal says: nothing will ever finish those files;
 * - otherwise (a live process here, or another host's open run, or no answer) they are left.
 * No clock and no lease: the run's own state in Temporal is the authority.
 */
export const OWNER_SUFFIX = '.owner';

export interface RunRef {
  /** Temporal namespace: a run id means nothing in another one. */
  namespace: string;
  workflowId: string;
  runId: string;
  /** The activity that wrote the record last, and its attempt. */
  activityId: string;
  attempt: number;
}

export interface RunFilesRecord extends RunRef, ProcessIdentity {
  version: 1;
  /** The environment label: where its scratch databases live follows from it. */
  environment: string;
  /** Names in the record's directory that the run made or is about to make. */
  files: string[];
  /** Scratch databases the run created or is about to create, on its verification server. */
  databases: string[];
  /** The writer's clock, for people reading the file; nothing is decided from it. */
  writtenAt: string;
}

export function recordPathFor(dir: string, base: string): string {
  return path.join(dir, `${base}${OWNER_SUFFIX}`);
}

/** Reads a record; undefined when missing or not one of ours (then nothing may be decided from it). */
export async function readRecord(recordPath: string): Promise<RunFilesRecord | undefined> {
  // Where rename does not replace atomically (FUSE FAT, some SMB servers) a reader may miss the record for a moment.
  for (let i = 0; i < 4; i++) {
    const record = await fs.readFile(recordPath, 'utf8').then(parseRecord, () => undefined);
    if (record) return record;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

function parseRecord(text: string): RunFilesRecord | undefined {
  try {
    const record = JSON.parse(text) as RunFilesRecord;
    if (record.version !== 1 || typeof record.pid !== 'number' || typeof record.runId !== 'string') return undefined;
    if (!Array.isArray(record.files) || !Array.isArray(record.databases)) return undefined;
    if (![...record.files, ...record.databases].every((n) => typeof n === 'string' && n && !n.includes('/') && n !== '.' && n !== '..')) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/** Every record in `dir` (their paths), oldest name first. */
export async function listRecords(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith(OWNER_SUFFIX))
    .sort()
    .map((n) => path.join(dir, n));
}

export type Whose =
  /** Written by this very process. */
  | 'this-process'
  /** Its process is on this host and running (another worker here): leave it. */
  | 'alive-here'
  /** Its process was on this host and is gone (or its pid was reused): a crash. */
  | 'dead-here'
  /** Another host (or PID namespace): only the run's state can tell. */
  | 'elsewhere';

/** Whose files a record names, as far as this process can tell without asking Temporal. */
export async function whose(record: RunFilesRecord): Promise<Whose> {
  const here = await currentProcessIdentity();
  if (!canCheckHere(record, here)) return 'elsewhere';
  if (record.pid === here.pid && record.pidStartTime === here.pidStartTime) return 'this-process';
  const started = await processStartTime(record.pid);
  return started !== undefined && started === record.pidStartTime ? 'alive-here' : 'dead-here';
}

/** The record exists already: another run, or an earlier execution of this one, holds the name. */
export class NameHeld extends Error {
  constructor(
    readonly recordPath: string,
    readonly record: RunFilesRecord | undefined,
  ) {
    super(`${path.basename(recordPath)} exists: another run holds this backup name`);
  }
}

// One writer at a time per record in this process: dump and the compress beside it update the same one.
const queues = new Map<string, Promise<unknown>>();
function serially<T>(recordPath: string, work: () => Promise<T>): Promise<T> {
  const next = (queues.get(recordPath) ?? Promise.resolve()).then(work, work);
  const settled = next.catch(() => undefined);
  queues.set(recordPath, settled);
  void settled.then(() => {
    if (queues.get(recordPath) === settled) queues.delete(recordPath);
  });
  return next;
}

/**
 * Creates the record exclusively: it doubles as the claim of the backup name, so it is published
 * without ever replacing one (also where the file system has no hard links).
 */
export async function claimRecord(
  recordPath: string,
  run: RunRef & { environment: string },
  names: { files?: string[]; databases?: string[] } = {},
): Promise<RunFilesRecord> {
  const record = await newRecord(run, names);
  const temp = tempPathFor(recordPath);
  await writeSynced(temp, record);
  try {
    await publishFile(temp, recordPath);
  } catch (err) {
    await fs.rm(temp, { force: true });
    if (err instanceof FinalNameTaken) throw new NameHeld(recordPath, await readRecord(recordPath));
    throw err;
  }
  return record;
}

/**
 * Adds names to this run's record before the files or databases exist, so a crash right after
 * leaves them covered; the writer becomes this process and activity attempt. False when the
 * run has no record.
 */
export function addToRecord(recordPath: string, run: RunRef, names: { files?: string[]; databases?: string[] }): Promise<boolean> {
  return updateRecord(recordPath, run, (r) => ({
    ...r,
    files: [...new Set([...r.files, ...(names.files ?? [])])],
    databases: [...new Set([...r.databases, ...(names.databases ?? [])])],
  }));
}

/** Drops names once they are gone. */
export function forgetInRecord(recordPath: string, run: RunRef, names: { files?: string[]; databases?: string[] }): Promise<boolean> {
  return updateRecord(recordPath, run, (r) => ({
    ...r,
    files: r.files.filter((f) => !names.files?.includes(f)),
    databases: r.databases.filter((d) => !names.databases?.includes(d)),
  }));
}

/** The record is of another run: this run must not write under its name. */
export class NotThisRunsRecord extends Error {}

/**
 * Rewrites this run's record. False when there is none: a run that began before records existed
 * (an upgrade mid-run), or an activity run on its own, has nothing to update.
 */
function updateRecord(recordPath: string, run: RunRef, change: (record: RunFilesRecord) => RunFilesRecord): Promise<boolean> {
  return serially(recordPath, async () => {
    const current = await readRecord(recordPath);
    if (!current) return false;
    if (current.workflowId !== run.workflowId || current.runId !== run.runId) {
      throw new NotThisRunsRecord(`${path.basename(recordPath)} is run ${current.workflowId}/${current.runId}'s, not this run's`);
    }
    const next = { ...change(current), ...run, ...(await currentProcessIdentity()), writtenAt: new Date().toISOString() };
    const temp = tempPathFor(recordPath);
    await writeSynced(temp, next);
    try {
      await fs.rename(temp, recordPath);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await syncDirectory(path.dirname(recordPath));
    return true;
  });
}

/** Removes the record: its names are gone, or have become a finished backup. */
export function releaseRecord(recordPath: string): Promise<void> {
  return serially(recordPath, () => fs.rm(recordPath, { force: true }));
}

/** Temporary files of record writes (`<base>.owner-tmp-<hex>`): a crash between write and rename leaves one. */
export function isRecordTemp(name: string): boolean {
  return /\.owner-tmp-[0-9a-f]{8}$/.test(name);
}

async function newRecord(run: RunRef & { environment: string }, names: { files?: string[]; databases?: string[] }): Promise<RunFilesRecord> {
  return {
    version: 1,
    ...run,
    ...(await currentProcessIdentity()),
    files: names.files ?? [],
    databases: names.databases ?? [],
    writtenAt: new Date().toISOString(),
  };
}

async function writeSynced(file: string, record: RunFilesRecord): Promise<void> {
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
