/**
 * What went wrong, from the stderr of pg_dump, pg_dumpall or psql: a kind, whether another
 * attempt can help, and one line saying what to do.
 *
 * The rule: only connection-level and resource failures are retried (the server restarting,
 * a network blip, no free connection slot, memory, processes, a lock held elsewhere). A
 * failure that no retry can fix — permissions, row-level security, a missing object, a
 * version mismatch, a wrong password or host, SSL settings, a full disk — fails at once, so
 * the alert goes out at once and says what to change. Pure: no I/O, no Temporal.
 */
export type FailureKind =
  | 'row-level-security'
  | 'extension-not-permitted'
  | 'extension-not-available'
  | 'permission-denied'
  | 'missing-object'
  | 'version-mismatch'
  | 'authentication'
  | 'unknown-host'
  | 'ssl'
  | 'disk-full'
  | 'statement-timeout'
  | 'missing-program'
  | 'connection-refused'
  | 'connection-lost'
  | 'server-terminated'
  | 'too-many-connections'
  | 'out-of-memory'
  | 'could-not-fork'
  | 'lock-timeout'
  | 'recovery-conflict'
  | 'serialization-failure'
  | 'unknown';

export interface FailureClass {
  kind: FailureKind;
  retryable: boolean;
  /** One line: what happened and what to do. */
  hint: string;
  /** The stderr line that decided the kind (already redacted by the caller). */
  line?: string;
}

export interface FailureContext {
  /** The role the program connected as, to name it in the fix (e.g. `ALTER ROLE … BYPASSRLS`). */
  role?: string;
  /** pg_dump, psql, pg_dumpall: used in hints. */
  program?: string;
  exitCode?: number | null;
  signal?: string | null;
}

interface Rule {
  kind: FailureKind;
  retryable: boolean;
  pattern: RegExp;
  hint: (match: RegExpExecArray, context: Required<Pick<FailureContext, 'role' | 'program'>>, stderr: string) => string;
}

const quoteName = (name: string | undefined) => (name ? `"${name}"` : 'the role');
/** The role inside a statement to run: a placeholder when it is not known. */
const roleInStatement = (name: string | undefined) => (name ? `"${name.replace(/"/g, '""')}"` : '<role>');

/**
 * First match wins, so specific rules come before general ones (an SSL EOF is a lost
 * connection, not an SSL setting; "permission denied to create extension" is not a grant).
 */
const RULES: Rule[] = [
  {
    kind: 'row-level-security',
    retryable: false,
    pattern: /query would be affected by row-level security policy for table "([^"]+)"/,
    hint: (m, c) =>
      `table "${m[1]}" has row-level security and ${quoteName(c.role)} would see only some of its rows: ` +
      `ALTER ROLE ${roleInStatement(c.role)} BYPASSRLS (as a superuser), or back up as the table's owner`,
  },
  {
    kind: 'extension-not-permitted',
    retryable: false,
    pattern: /permission denied to create extension "([^"]+)"/,
    hint: (m, c) =>
      `${quoteName(c.role)} may not create extension "${m[1]}" (it is not trusted): ` +
      `verify with a role that may (BACKUP_VERIFY_DATABASE_URL), or install "${m[1]}" in template1 so scratch databases have it`,
  },
  {
    kind: 'extension-not-available',
    retryable: false,
    pattern: /extension "([^"]+)" is not available|could not open extension control file "[^"]*\/([^"/]+)\.control"/,
    hint: (m) => `extension "${m[1] ?? m[2]}" is not installed on this server: install its package on the server (for the server's major version)`,
  },
  {
    kind: 'version-mismatch',
    retryable: false,
    pattern: /aborting because of server version mismatch|server version: [^;\n]+; (?:pg_dump|pg_dumpall|pg_restore) version: /,
    hint: (_m, _c, stderr) => {
      const v = /server version: ([^;\n]+); (pg_dump|pg_dumpall|pg_restore) version: ([^\n]+)/.exec(stderr);
      return (
        `${v ? `${v[2]} ${v[3].trim()} is older than the server (${v[1].trim()})` : 'pg_dump is older than the server'}: ` +
        `install client tools whose major version is at least the server's and point BACKUP_PG_DUMP at that pg_dump`
      );
    },
  },
  {
    kind: 'authentication',
    retryable: false,
    pattern:
      /password authentication failed for user "([^"]*)"|no password supplied|no pg_hba\.conf entry for host|(?:Peer|Ident|GSSAPI|SSPI|LDAP|RADIUS|certificate) authentication failed|role "([^"]*)" is not permitted to log in|pg_hba\.conf rejects connection|password has expired|FATAL:\s+role "([^"]*)" does not exist/,
    hint: (m) =>
      `the server refused the login${(m[1] ?? m[2] ?? m[3]) ? ` of "${m[1] ?? m[2] ?? m[3]}"` : ''}: check the user and password in the database URL, pg_hba.conf, and that the role may log in`,
  },
  {
    kind: 'ssl',
    retryable: false,
    pattern:
      /server does not support SSL, but SSL was required|certificate verify failed|root certificate file "[^"]*" does not exist|server certificate for "[^"]*" does not match host name|invalid sslmode value|could not load private key file|SSL connection is required|sslmode value "[^"]*" invalid/,
    hint: () => 'the SSL settings do not match the server: check sslmode, sslrootcert and the certificates in the database URL',
  },
  // The FATAL saying why the server hung up comes before the "server closed the connection" that follows it.
  {
    kind: 'server-terminated',
    retryable: true,
    pattern:
      /terminating connection due to administrator command|canceling statement due to user request|the database system is (?:shutting down|starting up|in recovery mode|not yet accepting connections|not accepting connections)|terminating connection due to (?:unexpected postmaster exit|crash of another server process)/,
    hint: () => "the server ended the session (shutdown, restart, crash recovery, or an administrator's pg_terminate_backend): another attempt follows",
  },
  {
    kind: 'too-many-connections',
    retryable: true,
    pattern: /sorry, too many clients already|remaining connection slots are reserved|too many connections for (?:role|database) "[^"]*"/,
    hint: () => "the server had no free connection slot (max_connections, or the role's or database's CONNECTION LIMIT): another attempt follows",
  },
  {
    kind: 'recovery-conflict',
    retryable: true,
    pattern: /(?:canceling statement|terminating connection) due to conflict with recovery/,
    hint: () =>
      'the standby cancelled the dump to replay WAL: another attempt follows; set max_standby_streaming_delay or hot_standby_feedback on the standby if it recurs',
  },
  {
    // pg_dump --lock-wait-timeout works through statement_timeout on its LOCK TABLE.
    kind: 'lock-timeout',
    retryable: true,
    pattern:
      /canceling statement due to lock timeout|canceling statement due to statement timeout\s*\n[^\n]*Query was: LOCK TABLE|could not obtain lock on|deadlock detected/,
    hint: () => 'another session held a lock the backup needed (e.g. a long ALTER TABLE): another attempt follows',
  },
  {
    kind: 'statement-timeout',
    retryable: false,
    pattern: /canceling statement due to statement timeout|terminating connection due to (?:idle-in-transaction|transaction) timeout/,
    hint: (_m, c) =>
      `a server-side timeout ended the session, and would again: ALTER ROLE ${roleInStatement(c.role)} SET statement_timeout = 0 (idle_in_transaction_session_timeout too)`,
  },
  {
    kind: 'could-not-fork',
    retryable: true,
    pattern: /could not fork/,
    hint: () => 'the system could not start a process (process limit or memory): another attempt follows',
  },
  {
    kind: 'out-of-memory',
    retryable: true,
    pattern: /out of memory|Cannot allocate memory|out of shared memory|could not resize shared memory segment/i,
    hint: () => 'out of memory (on the server or here): another attempt follows; if it recurs, the machine needs more memory',
  },
  {
    kind: 'connection-lost',
    retryable: true,
    pattern:
      /server closed the connection|connection to server was lost|no connection to the server|could not receive data from server|could not send data to server|SSL SYSCALL error|SSL connection has been closed unexpectedly|Connection reset by peer|Connection timed out|timeout expired|Temporary failure in name resolution|No route to host|Network is unreachable|terminating connection due to idle-session timeout/,
    hint: () => 'the connection to the server broke off: another attempt follows',
  },
  {
    kind: 'unknown-host',
    retryable: false,
    pattern: /could not translate host name "([^"]*)" to address/,
    hint: (m) => `host "${m[1]}" is not known: check the host name in the database URL`,
  },
  {
    kind: 'connection-refused',
    retryable: true,
    pattern: /Connection refused|No such file or directory\s+Is the server running locally/,
    hint: () => 'nothing accepted the connection: the server is down or restarting (or the port is wrong); another attempt follows',
  },
  {
    // A retry would only fill the disk again: fail now so the alert goes out now.
    kind: 'disk-full',
    retryable: false,
    pattern: /No space left on device|Disk quota exceeded|could not extend file/,
    hint: () => "a disk is full (the backup directory, or the server's for a restore): free space or prune old backups",
  },
  {
    kind: 'serialization-failure',
    retryable: true,
    pattern: /could not serialize access/,
    hint: () => 'a concurrent transaction conflicted with the snapshot: another attempt follows',
  },
  {
    kind: 'permission-denied',
    retryable: false,
    pattern:
      /permission denied (?:for|to) [^\n]*|must be (?:owner|member) of [^\n]*|must be superuser[^\n]*|must have admin option[^\n]*|only superusers? [^\n]*/,
    hint: (m, c) =>
      `${quoteName(c.role)} lacks a privilege (${m[0].trim().replace(/\.$/, '')}): a backup role needs pg_read_all_data (and read access to large objects); ` +
      `a restore as another role needs ownership and privileges skipped, or the roles created first`,
  },
  {
    kind: 'missing-object',
    retryable: false,
    pattern:
      /(?:relation|role|database|schema|function|type|table|column|extension|sequence|operator|collation|publication|large object|tablespace|text search \w+|access method) (?:"[^"\n]*"|\S+) does not exist|no matching (?:tables|schemas|extensions|foreign servers) were found/,
    hint: (m) => `${m[0].trim()}: check the database URL and that every object the command needs exists`,
  },
];

/** Classifies a failed run of pg_dump, pg_dumpall or psql. */
export function classifyFailure(stderr: string, context: FailureContext = {}): FailureClass {
  const c = { role: context.role ?? '', program: context.program ?? 'pg_dump' };
  for (const rule of RULES) {
    const match = rule.pattern.exec(stderr);
    if (match) return { kind: rule.kind, retryable: rule.retryable, hint: rule.hint(match, c, stderr), line: lineAround(stderr, match.index) };
  }
  if (context.exitCode === 127 || /(?:spawn \S+ ENOENT|failed to execute|command not found)/.test(stderr)) {
    return {
      kind: 'missing-program',
      retryable: false,
      hint: `${c.program} could not be started: install the PostgreSQL client tools or set BACKUP_PG_DUMP`,
    };
  }
  if (context.signal === 'SIGKILL' && !stderr.trim()) {
    // Killed without a word: the kernel's OOM killer is the usual reason.
    return { kind: 'out-of-memory', retryable: true, hint: `${c.program} was killed (SIGKILL, usually the out-of-memory killer): another attempt follows` };
  }
  return {
    kind: 'unknown',
    retryable: false,
    hint: `${c.program} failed${context.exitCode != null ? ` (exit code ${context.exitCode})` : context.signal ? ` (${context.signal})` : ''}: see the message`,
    line: stderr
      .trim()
      .split('\n')
      .find((l) => /error|FATAL|ERROR/.test(l)),
  };
}

function lineAround(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index) + 1;
  const end = text.indexOf('\n', index);
  return text.slice(start, end < 0 ? text.length : end).trim();
}
