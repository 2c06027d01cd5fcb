import { classifyFailure as classifyStderr, type FailureKind as StderrKind } from './failure-kinds';

/**
 * What went wrong with a libpq program, judged from its exit and its (redacted) stderr. The
 * knowledge of PostgreSQL's messages lives in `failure-kinds.ts`; this adds what only the
 * runner knows (the program could not be started, it was stopped on purpose) and words the
 * message. Only connection-level and resource failures are retried: a bad password, a missing
 * privilege, row-level security, a missing object, an old pg_dump, a full disk or a failure
 * nobody recognises alert at once instead of after three attempts five minutes apart.
 */
export type FailureKind = StderrKind | 'stopped';

export interface FailureInput {
  /** pg_dump, psql, pg_dumpall */
  program: string;
  /** The path that was run (for "not found"). */
  command: string;
  exit: { code: number | null; signal: string | null; spawnError?: NodeJS.ErrnoException; stopped: boolean };
  /** Already bounded and redacted. */
  stderr: string;
  /** The role the program connected as, when known: named in fixes such as `ALTER ROLE … BYPASSRLS`. */
  role?: string;
}

export interface Failure {
  kind: FailureKind;
  retryable: boolean;
  message: string;
}

/** Kinds whose message already says everything: no fix is appended. */
const NO_HINT = new Set<FailureKind>(['unknown', 'missing-object']);

export function classifyFailure({ program, command, exit, stderr, role }: FailureInput): Failure {
  if (exit.spawnError?.code === 'ENOENT' || (exit.code === 127 && /failed to execute/i.test(stderr))) {
    return {
      kind: 'missing-program',
      retryable: false,
      message: `${program} not found at ${JSON.stringify(command)}: install the PostgreSQL client tools (scripts/install-deps.sh) or set BACKUP_PG_DUMP`,
    };
  }
  if (exit.spawnError) {
    // EMFILE, ENOMEM, EAGAIN: the machine is short of something for a moment.
    return { kind: 'could-not-fork', retryable: true, message: `${program} could not be started: ${exit.spawnError.code ?? exit.spawnError.message}` };
  }
  const how = exit.signal ? exit.signal : `exit code ${exit.code}`;
  if (exit.stopped) return { kind: 'stopped', retryable: true, message: `${program} was stopped (${how})` };
  const detail = stderr || (exit.signal ? `killed by ${exit.signal}` : 'no message');

  const found = classifyStderr(stderr, { program, role, exitCode: exit.code, signal: exit.signal });
  if (found.kind === 'version-mismatch') {
    // "server version: 16.2 (Debian 16.2-1.pgdg120+2); pg_dump version: 15.18 (Debian …)": the numbers are what matter.
    const v = /server version: ([\d.]+)[^;\n]*; (?:\S+) version: ([\d.]+)/.exec(stderr);
    return {
      kind: 'version-mismatch',
      retryable: false,
      message: v
        ? `${program} ${v[2]} is older than the PostgreSQL server ${v[1]}: install a ${program} whose major version is at least the server's and point BACKUP_PG_DUMP at it`
        : `${program} failed (${how}): ${detail} — ${found.hint}`,
    };
  }
  // psql's exit code 2 is "the connection to the server went bad", whatever it printed.
  if (found.kind === 'unknown' && program === 'psql' && exit.code === 2) {
    return { kind: 'connection-lost', retryable: true, message: `${program} failed (${how}): ${detail}` };
  }
  // A retry follows a retryable failure, so its hint ("another attempt follows") would be noise in the final message.
  const hint = !found.retryable && !NO_HINT.has(found.kind) ? ` — ${found.hint}` : '';
  return { kind: found.kind, retryable: found.retryable, message: `${program} failed (${how}): ${detail}${hint}` };
}
