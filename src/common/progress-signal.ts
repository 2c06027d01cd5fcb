/**
 * How a running step tells its own workflow how far it is: a signal the workflow turns into
 * its current details (the Web UI's "Current Details" of the run). Pure: shared by the
 * activities that send it and the workflow that shows it. No secret ever goes in.
 */
export const PROGRESS_SIGNAL = 'pgBackupProgress';

export interface StepProgress {
  /** The activity type of the step (`dump`, `compress`, `verify`, …). */
  step: string;
  /** One line for people, e.g. `dump 42% · 1.20 GB of ~2.86 GB · about 3 min left (around 03:14 UTC)`. */
  text: string;
  percent?: number;
  remainingMs?: number;
  /** The database being dumped (its name only), so the run's details can name it before the dump is done. */
  database?: string;
}

/**
 * What a step's heartbeat details say about its bytes, whichever way the step words them:
 * `{bytes, total}` (verify, stat, copies), `{bytesIn, totalIn}` (compress, encrypt) or
 * `{bytes, expectedBytes}` (dump: an estimate from the database size). A compress that
 * follows a dump still being written counts against the dump's estimate, not against what
 * pg_dump has written so far; a verify that follows compress has no total until compress is
 * done. Undefined when the details carry no byte count.
 */
export function bytesOfStep(details: Record<string, unknown>): { done: number; expected?: number; estimate: boolean; phase: string } | undefined {
  const num = (key: string) => (typeof details[key] === 'number' && Number.isFinite(details[key]) ? (details[key] as number) : undefined);
  const done = num('bytesIn') ?? num('bytes');
  if (done === undefined) return undefined;
  // While the writer it follows still writes, what it has written so far is no total.
  const exact = details.dumping === true || details.compressing === true ? undefined : (num('totalIn') ?? num('total'));
  const expected = exact ?? num('expectedBytes');
  const phase = typeof details.phase === 'string' ? details.phase : '';
  return { done, expected, estimate: exact === undefined && expected !== undefined, phase };
}
