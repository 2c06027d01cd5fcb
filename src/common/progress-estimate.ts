import { humanSize } from './human-size';

/**
 * Percent done and time left of a step that moves bytes (dump, compress, verify), from the
 * bytes done so far, the bytes expected and the time since the step began. Pure and
 * deterministic: given the same samples it gives the same answers (unit-tested, usable in
 * workflow code). The caller owns the clock.
 */

/** The rate is an average over roughly the last `halfLifeMs` (older throughput counts half, then a quarter, ...). */
export const DEFAULT_HALF_LIFE_MS = 30_000;
/** No time left is given before this much of the step has run: pg_dump writes the schema first, far slower than data. */
export const MIN_ELAPSED_FOR_ETA_MS = 10_000;
/** No new bytes for this long is a stall (pg_dump waiting for a lock, a full disk): no time left is given then. */
export const STALL_AFTER_MS = 30_000;

export interface Throughput {
  startedAtMs: number;
  /** The last observation. */
  atMs: number;
  bytes: number;
  /** When the byte count last grew. */
  movedAtMs: number;
  /** The moving average before its correction for the time covered (it starts at 0). */
  weighted?: number;
  /** Smoothed bytes per second; undefined until a second observation. */
  bytesPerSecond?: number;
}

/** The start of a step: `bytes` already done (usually 0). */
export function startThroughput(atMs: number, bytes = 0): Throughput {
  return { startedAtMs: atMs, atMs, bytes, movedAtMs: atMs };
}

/**
 * Folds one observation into the smoothed rate: an exponential moving average weighted by
 * time, so observations at irregular intervals count for the time they cover. The average
 * starts at 0 and is divided by the weight the observations so far carry (1 - 2^(-elapsed /
 * half-life)), so early on it is the plain average since the start rather than an average
 * dragged down by its starting value: a dump that began slowly (the schema, the snapshot)
 * gets a fair estimate once its data flows. Observations that go back in time or in bytes are
 * ignored (a retried read, a clock step).
 */
export function observe(state: Throughput, atMs: number, bytes: number, halfLifeMs = DEFAULT_HALF_LIFE_MS): Throughput {
  const dt = atMs - state.atMs;
  if (dt <= 0 || bytes < state.bytes) return state;
  const recent = ((bytes - state.bytes) / dt) * 1000;
  const movedAtMs = bytes > state.bytes ? atMs : state.movedAtMs;
  const previous = state.weighted ?? 0;
  const weighted = previous + (1 - Math.pow(2, -dt / halfLifeMs)) * (recent - previous);
  const covered = 1 - Math.pow(2, -(atMs - state.startedAtMs) / halfLifeMs);
  return { ...state, atMs, bytes, movedAtMs, weighted, bytesPerSecond: weighted / covered };
}

export interface ProgressEstimate {
  bytes: number;
  expectedBytes?: number;
  /** Whole percent, 0–99 while running (100 is for the step to say when it is done); undefined without an expected size or beyond it. */
  percent?: number;
  /** Milliseconds left at the smoothed rate; undefined early on, when stalled, or beyond the expected size. */
  remainingMs?: number;
  bytesPerSecond?: number;
  /** How long no new bytes came, once that is a stall (STALL_AFTER_MS). */
  stalledForMs?: number;
  /** More bytes than expected: the expectation was wrong (an estimate from the database size), so neither percent nor time left is given. */
  beyondExpected: boolean;
}

export function estimateProgress(state: Throughput, expectedBytes: number | undefined, minElapsedMs = MIN_ELAPSED_FOR_ETA_MS): ProgressEstimate {
  const { bytes, bytesPerSecond } = state;
  const known = expectedBytes !== undefined && Number.isFinite(expectedBytes) && expectedBytes > 0 ? expectedBytes : undefined;
  const still = state.atMs - state.movedAtMs;
  const stalledForMs = still >= STALL_AFTER_MS ? still : undefined;
  const base = { bytes, expectedBytes: known, bytesPerSecond, stalledForMs };
  if (known === undefined) return { ...base, beyondExpected: false };
  if (bytes > known) return { ...base, beyondExpected: true };
  const percent = Math.min(99, Math.floor((bytes / known) * 100));
  const elapsed = state.atMs - state.startedAtMs;
  const estimable = elapsed >= minElapsedMs && stalledForMs === undefined && bytesPerSecond !== undefined && bytesPerSecond > 0;
  return { ...base, percent, remainingMs: estimable ? Math.round(((known - bytes) / bytesPerSecond) * 1000) : undefined, beyondExpected: false };
}

/** Time left for people: `under a minute`, `about 4 min`, `about 1 h 20 min` (coarse on purpose: it is an estimate). */
export function formatRemaining(ms: number): string {
  if (ms < 60_000) return 'under a minute';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `about ${minutes} min`;
  // Above an hour, to 10 minutes: finer would promise a precision the estimate does not have.
  const tens = Math.round(minutes / 10) * 10;
  const h = Math.floor(tens / 60);
  const m = tens % 60;
  return m ? `about ${h} h ${m} min` : `about ${h} h`;
}

/**
 * One line for the workflow's current details, e.g. `dump 42% · 1.20 GB of ~2.86 GB · about 3 min left`.
 * `~` marks an expected size that is itself an estimate (a dump's, from the database size).
 */
export function describeProgress(step: string, estimate: ProgressEstimate, options: { expectedIsEstimate?: boolean } = {}): string {
  const done = humanSize(estimate.bytes);
  const stall = estimate.stalledForMs !== undefined ? ` · no new bytes for ${formatStall(estimate.stalledForMs)}` : '';
  if (estimate.expectedBytes === undefined) return `${step} · ${done} so far${stall}`;
  const expected = `${options.expectedIsEstimate ? '~' : ''}${humanSize(estimate.expectedBytes)}`;
  if (estimate.beyondExpected) return `${step} · ${done} so far (more than the ${expected} expected)${stall}`;
  const left = stall || (estimate.remainingMs !== undefined ? ` · ${formatRemaining(estimate.remainingMs)} left` : ' · estimating time left');
  return `${step} ${estimate.percent}% · ${done} of ${expected}${left}`;
}

function formatStall(ms: number): string {
  return ms < 60_000 ? `${Math.floor(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min`;
}
