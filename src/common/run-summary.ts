/**
 * The static summary and details a backup run carries from its start (the Web UI shows them on
 * the run's "User Metadata" tab): which label, which database when the starter knows it, and
 * who started it. Set by whoever starts the run (the Schedule's action, `backup`, `dev`,
 * `start`); the workflow cannot change them later. Pure; nothing secret (a database name, never
 * its URL).
 */
export interface RunOrigin {
  environment: string;
  /** The database's name, when the starter's own configuration says it (the worker's may differ). */
  database?: string;
  /** A Schedule's id, or how a person started it (`pg-backup-workflow backup`). */
  startedBy: { schedule: string; at: string } | { command: string };
}

export function runMetadata(origin: RunOrigin): { staticSummary: string; staticDetails: string } {
  const by = 'schedule' in origin.startedBy ? `schedule ${origin.startedBy.schedule}` : 'manual';
  const database = origin.database ? ` · database ${origin.database}` : '';
  const started =
    'schedule' in origin.startedBy
      ? `Started by the Schedule \`${origin.startedBy.schedule}\`, ${origin.startedBy.at}.`
      : `Started by hand: \`${origin.startedBy.command}\`.`;
  return {
    staticSummary: `Backup of ${origin.environment}${database} · ${by}`,
    staticDetails: [
      `**PostgreSQL backup** of the environment label \`${origin.environment}\` (pg-backup-workflow).`,
      '',
      started,
      '',
      "The worker finds the database through its own `DATABASE_URL_<LABEL>` or `DATABASE_URL`; the run's current details name it once the dump starts, and show the running step with percent and time left.",
    ].join('\n'),
  };
}
