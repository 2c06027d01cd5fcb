import { describe, expect, it } from 'vitest';
import { classifyFailure, type FailureInput } from '../../src/postgres/failures';

const exit = (code: number | null, extra: Partial<FailureInput['exit']> = {}): FailureInput['exit'] => ({ code, signal: null, stopped: false, ...extra });
const run = (stderr: string, e = exit(1), program = 'pg_dump', role?: string) =>
  classifyFailure({ program, command: '/usr/bin/pg_dump', exit: e, stderr, role });

describe("the runner's failures", () => {
  it('reads both version numbers however the server names its build, and says what to install', () => {
    const debian =
      'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 16.2 (Debian 16.2-1.pgdg120+2); pg_dump version: 15.18 (Debian 15.18-0+deb12u1)';
    expect(run(debian)).toEqual({
      kind: 'version-mismatch',
      retryable: false,
      message:
        "pg_dump 15.18 is older than the PostgreSQL server 16.2: install a pg_dump whose major version is at least the server's and point BACKUP_PG_DUMP at it",
    });
    expect(run('pg_dump: error: server version: 17.2; pg_dump version: 15.18\npg_dump: error: aborting because of server version mismatch').message).toMatch(
      /^pg_dump 15\.18 is older than the PostgreSQL server 17\.2: /,
    );
  });

  it('retries only connection-level and resource failures; an unknown failure is not retried', () => {
    expect(run('pg_dump: error: connection to server at "db", port 5432 failed: Connection refused')).toMatchObject({
      kind: 'connection-refused',
      retryable: true,
    });
    expect(run('pg_dump: error: query failed: server closed the connection unexpectedly')).toMatchObject({ kind: 'connection-lost', retryable: true });
    expect(run('psql: error: connection to server at "db", port 5432 failed: FATAL:  sorry, too many clients already', exit(2), 'psql')).toMatchObject({
      kind: 'too-many-connections',
      retryable: true,
    });
    expect(run('pg_dump: error: something nobody has seen', exit(1))).toEqual({
      kind: 'unknown',
      retryable: false,
      message: 'pg_dump failed (exit code 1): pg_dump: error: something nobody has seen',
    });
    // psql's exit code 2 means the connection went bad, whatever it said.
    expect(run('psql: something odd', exit(2), 'psql')).toMatchObject({ kind: 'connection-lost', retryable: true });
  });

  it('counts a SIGKILL without a word as a resource failure (the OOM killer), and a stop on purpose as stopped', () => {
    expect(run('', exit(null, { signal: 'SIGKILL' }))).toEqual({
      kind: 'out-of-memory',
      retryable: true,
      message: 'pg_dump failed (SIGKILL): killed by SIGKILL',
    });
    expect(run('', exit(null, { signal: 'SIGTERM', stopped: true }))).toMatchObject({ kind: 'stopped', message: 'pg_dump was stopped (SIGTERM)' });
  });

  it('adds the fix to a permanent failure, naming the role it connected as', () => {
    const rls = run('pg_dump: error: query would be affected by row-level security policy for table "tenant_doc"', exit(1), 'pg_dump', 'backup_ro');
    expect(rls.kind).toBe('row-level-security');
    expect(rls.retryable).toBe(false);
    expect(rls.message).toBe(
      'pg_dump failed (exit code 1): pg_dump: error: query would be affected by row-level security policy for table "tenant_doc" — ' +
        'table "tenant_doc" has row-level security and "backup_ro" would see only some of its rows: ALTER ROLE "backup_ro" BYPASSRLS (as a superuser), or back up as the table\'s owner',
    );
    expect(run('pg_dump: error: query would be affected by row-level security policy for table "t"').message).toContain('ALTER ROLE <role> BYPASSRLS');
    expect(run('pg_dump: error: could not write to output file: No space left on device')).toMatchObject({ kind: 'disk-full', retryable: false });
    // A retryable failure says nothing about "another attempt": by the time it is reported, the attempts are used up.
    expect(run('pg_dump: error: connection to server at "db", port 5432 failed: Connection refused').message).not.toContain('another attempt');
  });

  it('a program that is not there, or cannot be started for a moment', () => {
    const enoent = Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });
    expect(run('', exit(null, { spawnError: enoent }))).toMatchObject({
      kind: 'missing-program',
      retryable: false,
      message: expect.stringMatching(/^pg_dump not found at "\/usr\/bin\/pg_dump"/),
    });
    const emfile = Object.assign(new Error('spawn EMFILE'), { code: 'EMFILE' });
    expect(run('', exit(null, { spawnError: emfile }))).toEqual({ kind: 'could-not-fork', retryable: true, message: 'pg_dump could not be started: EMFILE' });
  });
});
