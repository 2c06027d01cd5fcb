import { describe, expect, it } from 'vitest';
import { classifyFailure, type FailureKind } from '../../src/postgres/failure-kinds';

/**
 * Messages as the programs print them. Those marked `provoked` were produced on PostgreSQL
 * 15.18 (pg_dump/psql 15.18) by doing the thing (test/failure-kinds.test.ts provokes most of
 * them again against a live server); the others are the server's and libpq's own strings,
 * for conditions a test cannot cause on demand (a newer server, a full process table, a standby).
 */
const CASES: Array<[string, string, FailureKind, boolean]> = [
  // [where it came from, stderr, kind, retryable]
  [
    'provoked: pg_dump as a pg_read_all_data role without BYPASSRLS',
    'pg_dump: error: query failed: ERROR:  query would be affected by row-level security policy for table "tenant_doc"\npg_dump: detail: Query was: COPY app.tenant_doc (id, tenant, body) TO stdout;',
    'row-level-security',
    false,
  ],
  [
    'provoked: pg_dump as a role without SELECT',
    'pg_dump: error: query failed: ERROR:  permission denied for table measurements\npg_dump: detail: Query was: LOCK TABLE app.measurements IN ACCESS SHARE MODE',
    'permission-denied',
    false,
  ],
  [
    'provoked: pg_dump as pg_read_all_data + BYPASSRLS, large objects of other roles',
    'pg_dump: error: could not open large object 16757: ERROR:  permission denied for large object 16757',
    'permission-denied',
    false,
  ],
  ['provoked: psql loading an unfiltered dump as a role outside the owner role', 'ERROR:  must be member of role "f1_app_owner"', 'permission-denied', false],
  ['provoked: CREATE DATABASE without CREATEDB', 'ERROR:  permission denied to create database', 'permission-denied', false],
  [
    'provoked: an untrusted extension as a non-superuser',
    'psql:<stdin>:12: ERROR:  permission denied to create extension "pg_stat_statements"\nHINT:  Must be superuser to create this extension.',
    'extension-not-permitted',
    false,
  ],
  [
    'provoked: an extension the server does not have (15)',
    'ERROR:  extension "nosuchext" is not available\nDETAIL:  Could not open extension control file "/usr/share/postgresql/15/extension/nosuchext.control": No such file or directory.\nHINT:  The extension must first be installed on the system where PostgreSQL is running.',
    'extension-not-available',
    false,
  ],
  [
    'server source before 15',
    'ERROR:  could not open extension control file "/usr/share/postgresql/13/extension/postgis.control": No such file or directory',
    'extension-not-available',
    false,
  ],
  [
    'pg_dump 15+ source (pg_backup_db.c), a Debian-built server',
    'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 16.2 (Debian 16.2-1.pgdg120+2); pg_dump version: 15.18 (Debian 15.18-0+deb12u1)',
    'version-mismatch',
    false,
  ],
  [
    'pg_dump 14 and older',
    'pg_dump: error: server version: 15.6 (Ubuntu 15.6-1.pgdg22.04+1); pg_dump version: 14.7\npg_dump: error: aborting because of server version mismatch',
    'version-mismatch',
    false,
  ],
  [
    'provoked: wrong password',
    'pg_dump: error: connection to server at "127.0.0.1", port 40895 failed: FATAL:  password authentication failed for user "f1_reader"',
    'authentication',
    false,
  ],
  [
    'provoked: no password and --no-password',
    'pg_dump: error: connection to server at "127.0.0.1", port 40895 failed: fe_sendauth: no password supplied',
    'authentication',
    false,
  ],
  [
    'server source: pg_hba.conf',
    'psql: error: connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "backup", database "app", no encryption',
    'authentication',
    false,
  ],
  ['provoked: unknown host', 'pg_dump: error: could not translate host name "nohost.invalid" to address: Name or service not known', 'unknown-host', false],
  [
    'libpq: DNS down (EAI_AGAIN), which passes',
    'pg_dump: error: could not translate host name "db.internal" to address: Temporary failure in name resolution',
    'connection-lost',
    true,
  ],
  [
    'provoked: nothing listens on the port',
    'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?',
    'connection-refused',
    true,
  ],
  [
    'libpq: connection reset',
    'pg_dump: error: Dumping the contents of table "orders" failed: PQgetCopyData() failed.\npg_dump: detail: Error message from server: could not receive data from server: Connection reset by peer',
    'connection-lost',
    true,
  ],
  ['libpq: SSL EOF', 'pg_dump: error: query failed: SSL SYSCALL error: EOF detected', 'connection-lost', true],
  ['libpq: the connection already gone', 'psql: error: no connection to the server', 'connection-lost', true],
  [
    'provoked: the server has no free slot for the role',
    'pg_dump: error: connection to server at "127.0.0.1", port 40895 failed: FATAL:  too many connections for role "f1_reader"',
    'too-many-connections',
    true,
  ],
  [
    'server source: max_connections',
    'psql: error: connection to server at "db", port 5432 failed: FATAL:  sorry, too many clients already',
    'too-many-connections',
    true,
  ],
  [
    'server source (15): reserved slots',
    'pg_dump: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections',
    'too-many-connections',
    true,
  ],
  [
    'provoked: pg_terminate_backend during pg_dump',
    'pg_dump: error: Dumping the contents of table "orders" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: FATAL:  terminating connection due to administrator command\npg_dump: detail: Command was: COPY app.orders (id, order_no, customer_id, status, qty, unit_cents, note) TO stdout;',
    'server-terminated',
    true,
  ],
  [
    'provoked: pg_terminate_backend during psql',
    'FATAL:  terminating connection due to administrator command\nserver closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\nconnection to server was lost',
    'server-terminated',
    true,
  ],
  [
    'server source: shutdown',
    'pg_dump: error: connection to server at "db", port 5432 failed: FATAL:  the database system is shutting down',
    'server-terminated',
    true,
  ],
  [
    'libpq: the server went away',
    'pg_dump: error: query failed: server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.',
    'connection-lost',
    true,
  ],
  ['pg_dump: out of memory here', 'pg_dump: error: out of memory', 'out-of-memory', true],
  [
    'server source: out of memory there',
    'pg_dump: error: query failed: ERROR:  out of memory\nDETAIL:  Failed on request of size 268435456 in memory context "ExecutorState".',
    'out-of-memory',
    true,
  ],
  [
    'postmaster source: fork failed',
    'psql: error: connection to server at "db", port 5432 failed: could not fork new process for connection: Cannot allocate memory',
    'could-not-fork',
    true,
  ],
  ['provoked: pg_dump -f /dev/full', 'pg_dump: error: could not write to output file: No space left on device', 'disk-full', false],
  [
    'server source: disk full on restore',
    'psql:<stdin>:120: ERROR:  could not extend file "base/16384/16999": No space left on device\nHINT:  Check free disk space.',
    'disk-full',
    false,
  ],
  [
    'provoked: sslmode=require against a server without SSL',
    'pg_dump: error: connection to server at "127.0.0.1", port 40895 failed: server does not support SSL, but SSL was required',
    'ssl',
    false,
  ],
  [
    'libpq: verify-full without a root certificate',
    'pg_dump: error: connection to server at "db", port 5432 failed: root certificate file "/home/app/.postgresql/root.crt" does not exist\nEither provide the file, use the system\'s trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification.',
    'ssl',
    false,
  ],
  [
    'provoked: pg_dump --lock-wait-timeout while another session holds ACCESS EXCLUSIVE',
    'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE app.orders IN ACCESS SHARE MODE',
    'lock-timeout',
    true,
  ],
  ['server source: lock_timeout', 'psql:<stdin>:40: ERROR:  canceling statement due to lock timeout', 'lock-timeout', true],
  ['provoked: statement_timeout', 'ERROR:  canceling statement due to statement timeout', 'statement-timeout', false],
  [
    'provoked: idle_in_transaction_session_timeout',
    'FATAL:  terminating connection due to idle-in-transaction timeout\nserver closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing the request.\nconnection to server was lost',
    'statement-timeout',
    false,
  ],
  [
    'server source: a standby replaying WAL',
    'pg_dump: error: Dumping the contents of table "events" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: ERROR:  canceling statement due to conflict with recovery\nDETAIL:  User query might have needed to see row versions that must be removed.',
    'recovery-conflict',
    true,
  ],
  [
    'provoked: a connection URL naming no database that exists',
    'pg_dump: error: connection to server at "127.0.0.1", port 40895 failed: FATAL:  database "nosuchdb" does not exist',
    'missing-object',
    false,
  ],
  ['provoked: pg_dump -t of a table that is not there', 'pg_dump: error: no matching tables were found', 'missing-object', false],
  ['provoked: a policy naming a role the target lacks', 'psql:<stdin>:2270: ERROR:  role "f1_reader" does not exist', 'missing-object', false],
];

describe('failure kinds', () => {
  it.each(CASES)('%s', (_source, stderr, kind, retryable) => {
    const failure = classifyFailure(stderr, { role: 'backup_ro' });
    expect({ kind: failure.kind, retryable: failure.retryable }).toEqual({ kind, retryable });
    expect(failure.hint).not.toBe('');
    expect(stderr).toContain(failure.line);
  });

  it('names the role and the fix for row-level security, and the extension and both fixes for untrusted extensions', () => {
    expect(classifyFailure(CASES[0][1], { role: 'backup_ro' }).hint).toBe(
      'table "tenant_doc" has row-level security and "backup_ro" would see only some of its rows: ALTER ROLE "backup_ro" BYPASSRLS (as a superuser), or back up as the table\'s owner',
    );
    expect(classifyFailure(CASES[5][1], { role: 'verifier' }).hint).toBe(
      '"verifier" may not create extension "pg_stat_statements" (it is not trusted): verify with a role that may (BACKUP_VERIFY_DATABASE_URL), or install "pg_stat_statements" in template1 so scratch databases have it',
    );
  });

  it('reads both versions in a version mismatch, however the server names its build', () => {
    expect(classifyFailure(CASES[8][1]).hint).toMatch(
      /^pg_dump 15\.18 \(Debian 15\.18-0\+deb12u1\) is older than the server \(16\.2 \(Debian 16\.2-1\.pgdg120\+2\)\): /,
    );
  });

  it('treats a wordless SIGKILL as the OOM killer, a missing program as permanent, and anything unknown as not retryable', () => {
    expect(classifyFailure('', { signal: 'SIGKILL' })).toMatchObject({ kind: 'out-of-memory', retryable: true });
    expect(classifyFailure('spawn /usr/bin/pg_dump ENOENT', { exitCode: null })).toMatchObject({ kind: 'missing-program', retryable: false });
    expect(classifyFailure('pg_dump: error: something new', { exitCode: 1 })).toMatchObject({
      kind: 'unknown',
      retryable: false,
      line: 'pg_dump: error: something new',
    });
  });
});
