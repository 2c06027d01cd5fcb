import { ApplicationFailure } from '@temporalio/activity';

/**
 * Turns pg_dump's (already redacted) stderr into a Temporal failure. Problems that another
 * attempt cannot fix are non-retryable, so a bad password does not wait out three retries.
 */
export function pgDumpFailure(exitCode: number | null, signal: string | null, stderr: string, backupDir: string): ApplicationFailure {
  const detail = stderr.trim() || (signal ? `killed by ${signal}` : 'no message');
  const message = `pg_dump failed (${signal ?? `exit code ${exitCode}`}): ${detail}`;

  const versions = /server version: ([\d.]+\S*); pg_dump version: ([\d.]+\S*)/.exec(stderr);
  if (versions) {
    return ApplicationFailure.nonRetryable(
      `pg_dump ${versions[2]} is older than the PostgreSQL server ${versions[1]}: ` +
        `install a pg_dump whose major version is at least the server's and point BACKUP_PG_DUMP at it`,
      'PgDumpVersionMismatch',
    );
  }
  if (/no space left on device/i.test(stderr)) {
    // Another attempt would fill the disk again; fail now so the alert goes out now.
    return ApplicationFailure.nonRetryable(`no space left on device in ${backupDir}: ${detail}`, 'NoSpaceLeft');
  }
  if (exitCode === 127 && /failed to execute/i.test(stderr)) {
    return ApplicationFailure.nonRetryable(`pg_dump could not be started: ${detail} (install PostgreSQL client tools or set BACKUP_PG_DUMP)`, 'PgDumpMissing');
  }
  const permanent = [
    /password authentication failed/i,
    /no password supplied/i,
    /database "[^"]*" does not exist/i,
    /role "[^"]*" does not exist/i,
    /could not translate host name/i,
    /permission denied/i,
    /invalid (?:URI|connection option|sslmode|integer value)/i,
  ];
  if (permanent.some((pattern) => pattern.test(stderr))) {
    return ApplicationFailure.nonRetryable(message, 'PgDumpConfiguration');
  }
  return ApplicationFailure.retryable(message, 'PgDumpFailed');
}

/** Keeps the head and tail of a long stderr: the cause is usually at one end. */
export class BoundedText {
  private text = '';
  constructor(private readonly limit = 8192) {}
  append(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.limit * 2) {
      this.text = `${this.text.slice(0, this.limit / 2)}\n…\n${this.text.slice(-this.limit / 2)}`;
    }
  }
  toString(): string {
    return this.text;
  }
}

/**
 * psql's DETAIL and CONTEXT lines quote table rows (`Key (email)=(alice@…)`, `COPY t, line 3:
 * "…"`): keep them out of failure messages, which reach history and Slack.
 */
export function withoutRowData(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^(?:psql:\S*:\d+:\s*)?(?:DETAIL|CONTEXT):/.test(line) && !/^LINE \d+:/.test(line) && !/^\s*\^\s*$/.test(line))
    .join('\n');
}
