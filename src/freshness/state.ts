/**
 * Shapes and decisions of the freshness check. Pure: imported by the workflow (deterministic,
 * no I/O) and by activities, the CLI and tests alike.
 */

/** The Schedule's argument: everything the check needs, so the watchdog worker needs no backup settings. */
export interface FreshnessInput {
  environments: string[];
  maxAgeMs: number;
  /** BACKUP_MAX_AGE as the operator wrote it (`26h`), for the message. */
  maxAge: string;
}

/** The newest successful backupDatabase run of one label, as Temporal's visibility knows it. */
export interface LastBackup {
  workflowId: string;
  runId: string;
  /** When the run completed (ISO). */
  closedAt: string;
  /** From the run's result, when it could be read. */
  fileName?: string;
}

export interface FindLastBackupsInput {
  environments: string[];
  /** How far back to look for completed runs. */
  lookbackMs: number;
}

/** Per label: its newest successful run, or null when none was found. */
export type LastBackups = Record<string, LastBackup | null>;

export type FreshnessNotice =
  | { kind: 'stale'; environment: string; maxAge: string; ageMs?: number; last?: LastBackup }
  | { kind: 'fresh-again'; environment: string; ageMs: number; last: LastBackup };

export interface LabelFreshness {
  environment: string;
  fresh: boolean;
  /** True while a gap has been announced and no "fresh again" has gone out yet: carried to the next run. */
  alerting: boolean;
  last: LastBackup | null;
  ageMs?: number;
  /** What this run sent, if anything. */
  sent?: { kind: FreshnessNotice['kind']; status: 'sent' | 'skipped' | 'failed'; error?: string };
}

/** The workflow's result; the Schedule hands it to the next run as `lastResult`. */
export interface FreshnessResult {
  checkedAt: string;
  /** `checkedAt` of the result this run was handed (lastResult); null for a first run or one started outside the Schedule. */
  previousCheckAt: string | null;
  maxAgeMs: number;
  labels: LabelFreshness[];
}

/** `checkedAt` of the previous run's result, if it is one of ours. */
export function previousCheckAt(lastResult: unknown): string | null {
  const checkedAt = (lastResult as Partial<FreshnessResult> | undefined)?.checkedAt;
  return typeof checkedAt === 'string' ? checkedAt : null;
}

/** Labels announced as stale by the previous run. Tolerates anything (first run, older result shapes). */
export function alertingLabels(lastResult: unknown): Set<string> {
  const labels = (lastResult as Partial<FreshnessResult> | undefined)?.labels;
  if (!Array.isArray(labels)) return new Set();
  return new Set(labels.filter((l) => l && l.alerting === true && typeof l.environment === 'string').map((l) => l.environment));
}

export interface Assessment {
  fresh: boolean;
  ageMs?: number;
  /** The message to send now, if any: at most one per gap, and one when it closes. */
  notice?: FreshnessNotice;
}

/** Decides what one label needs: the age of its last SUCCESS only, so a dead worker is caught too. */
export function assess(environment: string, last: LastBackup | null, nowMs: number, input: FreshnessInput, wasAlerting: boolean): Assessment {
  const ageMs = last ? Math.max(0, nowMs - Date.parse(last.closedAt)) : undefined;
  const fresh = ageMs !== undefined && ageMs <= input.maxAgeMs;
  if (!fresh && !wasAlerting) return { fresh, ageMs, notice: { kind: 'stale', environment, maxAge: input.maxAge, ageMs, last: last ?? undefined } };
  if (fresh && wasAlerting) return { fresh, ageMs, notice: { kind: 'fresh-again', environment, ageMs: ageMs!, last: last! } };
  return { fresh, ageMs };
}

/**
 * Whether the label is in an announced gap after this run. A message that failed to go out is
 * not counted, so the next run tries again; `skipped` (no webhook configured) counts as done.
 */
export function alertingAfter(wasAlerting: boolean, assessment: Assessment, status?: 'sent' | 'skipped' | 'failed'): boolean {
  if (!assessment.notice) return wasAlerting;
  const delivered = status !== 'failed';
  return assessment.notice.kind === 'stale' ? delivered : !delivered;
}

/** `45s`, `12m`, `3h 5m`, `2d 4h`: coarse on purpose, for people. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}
