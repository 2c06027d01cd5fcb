/**
 * What went wrong with a libpq program, judged from its exit and its (redacted) stderr.
 * Failures that another attempt cannot fix are not retryable, so a bad password or a missing
 * privilege alerts at once instead of after three attempts five minutes apart; only
 * connection-level and resource failures are worth another attempt.
 */
export type FailureKind =
  | 'not-found'
  | 'version-mismatch'
  | 'no-space'
  | 'row-level-security'
  | 'permission'
  | 'authentication'
  | 'missing-object'
  | 'invalid-connection'
  | 'unreachable'
  | 'resource'
  | 'stopped'
  | 'failed';

interface Rule {
  kind: FailureKind;
  retryable: boolean;
  pattern: RegExp;
}

/** First match wins: permanent causes come before the generic "connection … failed" they are often wrapped in. */
const RULES: Rule[] = [
  { kind: 'version-mismatch', retryable: false, pattern: /server version: [\d.]+\S*; \S+ version: [\d.]+/ },
  { kind: 'no-space', retryable: false, pattern: /no space left on device|could not extend file|disk quota exceeded/i },
  { kind: 'row-level-security', retryable: false, pattern: /query would be affected by row-level security policy/i },
  {
    kind: 'authentication',
    retryable: false,
    pattern:
      /password authentication failed|no password supplied|authentication failed|pg_hba\.conf rejects|role "[^"]*" does not exist|is not permitted to log in/i,
  },
  { kind: 'permission', retryable: false, pattern: /permission denied|must be owner of|must be member of role|must be superuser|must have privileges/i },
  {
    kind: 'missing-object',
    retryable: false,
    pattern:
      /database "[^"]*" does not exist|(relation|schema|function|extension|type|table) "[^"]*" does not exist|is not available|could not open extension control file/i,
  },
  {
    kind: 'invalid-connection',
    retryable: false,
    pattern: /could not translate host name|invalid (?:URI|connection option|sslmode|integer value)|invalid value for parameter/i,
  },
  {
    kind: 'resource',
    retryable: true,
    pattern: /too many clients|remaining connection slots|out of memory|could not fork|cannot allocate memory|too many open files/i,
  },
  {
    kind: 'unreachable',
    retryable: true,
    pattern:
      /could not connect|connection refused|connection to server .* failed|server closed the connection|terminating connection|timeout expired|connection reset|no route to host|the database system is (?:starting up|shutting down|in recovery mode)/i,
  },
];

export interface FailureInput {
  /** pg_dump, psql, pg_dumpall */
  program: string;
  /** The path that was run (for "not found"). */
  command: string;
  exit: { code: number | null; signal: string | null; spawnError?: NodeJS.ErrnoException; stopped: boolean };
  /** Already bounded and redacted. */
  stderr: string;
}

export interface Failure {
  kind: FailureKind;
  retryable: boolean;
  message: string;
}

export function classifyFailure({ program, command, exit, stderr }: FailureInput): Failure {
  if (exit.spawnError?.code === 'ENOENT' || (exit.code === 127 && /failed to execute/i.test(stderr))) {
    return {
      kind: 'not-found',
      retryable: false,
      message: `${program} not found at ${JSON.stringify(command)}: install the PostgreSQL client tools (scripts/install-deps.sh) or set BACKUP_PG_DUMP`,
    };
  }
  if (exit.spawnError) {
    // EMFILE, ENOMEM, EAGAIN: the machine is short of something for a moment.
    return { kind: 'resource', retryable: true, message: `${program} could not be started: ${exit.spawnError.code ?? exit.spawnError.message}` };
  }
  const how = exit.signal ? exit.signal : `exit code ${exit.code}`;
  if (exit.stopped) return { kind: 'stopped', retryable: true, message: `${program} was stopped (${how})` };
  const detail = stderr || (exit.signal ? `killed by ${exit.signal}` : 'no message');

  const rule = RULES.find((r) => r.pattern.test(stderr));
  if (rule?.kind === 'version-mismatch') {
    const [, server, client] = /server version: ([\d.]+\S*); \S+ version: ([\d.]+\S*)/.exec(stderr) ?? [];
    return {
      kind: rule.kind,
      retryable: false,
      message: `${program} ${client} is older than the PostgreSQL server ${server}: install a ${program} whose major version is at least the server's and point BACKUP_PG_DUMP at it`,
    };
  }
  if (rule?.kind === 'row-level-security') {
    return {
      kind: rule.kind,
      retryable: false,
      message:
        `${program} failed (${how}): ${detail} — the backup role is subject to row-level security: give it BYPASSRLS ` +
        "(ALTER ROLE <role> BYPASSRLS) or back up as the tables' owner (a dump with --enable-row-security would silently leave rows out)",
    };
  }
  // psql's exit code 2 is "the connection to the server went bad".
  if (!rule && program === 'psql' && exit.code === 2) return { kind: 'unreachable', retryable: true, message: `${program} failed (${how}): ${detail}` };
  return { kind: rule?.kind ?? 'failed', retryable: rule?.retryable ?? true, message: `${program} failed (${how}): ${detail}` };
}
