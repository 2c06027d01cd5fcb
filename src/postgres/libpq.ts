import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { DatabaseTarget } from '../config/database-url';
import { redact } from '../config/redact';
import { classifyFailure, type FailureKind } from './failures';
import type { LibpqTools } from './tools';

/**
 * The one way this project runs pg_dump, psql and pg_dumpall: the connection URI without its
 * password in argv (argv is world-readable in /proc), the password only in the child's
 * environment, which holds nothing else of the worker's (see `libpqEnvironment`), cancellation
 * (SIGTERM, then SIGKILL after a grace period), a bounded and redacted stderr, and one
 * classification of failures into retryable or not.
 */
export interface LibpqContext {
  tools: LibpqTools;
  /** The base environment of every child: PATH, locale, HOME and libpq's own variables. */
  env: Record<string, string>;
  /** Redacted from every message. */
  secrets: readonly string[];
}

export type LibpqProgram = keyof LibpqTools;

const NAMES: Record<LibpqProgram, string> = { pgDump: 'pg_dump', psql: 'psql', pgDumpall: 'pg_dumpall' };

export interface LibpqRunOptions {
  args: string[];
  target: DatabaseTarget;
  stdin?: 'ignore' | 'pipe';
  /** `pipe`, `ignore`, or a file descriptor the program writes straight into. */
  stdout?: 'ignore' | 'pipe' | number;
  /** Abort stops the program: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs?: number;
  /** Stops the program (as a cancellation would) when it runs longer. */
  timeoutMs?: number;
}

export interface LibpqExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The program could not be started at all (ENOENT, EACCES, EMFILE…). */
  spawnError?: NodeJS.ErrnoException;
  /** It was stopped by the signal or the timeout. */
  stopped: boolean;
}

/** A libpq program that did not succeed. The message is redacted and free of row data. */
export class LibpqError extends Error {
  constructor(
    readonly program: string,
    readonly kind: FailureKind,
    readonly retryable: boolean,
    message: string,
    readonly exit: LibpqExit,
    /** What the program said on stderr (bounded, redacted, without row data). */
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'LibpqError';
  }
}

const SETPRIV = '/usr/bin/setpriv';
const canTieToParent = process.platform === 'linux' && fs.existsSync(SETPRIV);
const DEFAULT_KILL_GRACE_MS = 3000;
const STDERR_LIMIT = 8192;

export class LibpqProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** The path run, as configured. */
  readonly command: string;
  /** Settles when the program has exited and its output is drained; never rejects. */
  readonly exited: Promise<LibpqExit>;
  private stderr = '';
  private stopped = false;
  private killTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: LibpqContext,
    program: LibpqProgram,
    private readonly options: LibpqRunOptions,
  ) {
    this.name = NAMES[program];
    const command = (this.command = ctx.tools[program]);
    const args = [...options.args, `--dbname=${options.target.safeUri}`];
    // This target's password, or none of our own: libpq then falls back to the worker's PGPASSWORD or a passfile.
    const env = { ...ctx.env, ...(options.target.password ? { PGPASSWORD: options.target.password } : {}) };
    const stdio = [options.stdin ?? 'ignore', options.stdout ?? 'ignore', 'pipe'] as const;
    // A process group of its own (detached), so stopping it stops what it started too (a
    // BACKUP_PG_DUMP wrapper script and the real pg_dump under it). On Linux the child is also
    // tied to this process (setpriv --pdeathsig): if the worker is killed, pg_dump dies too
    // instead of holding a snapshot and a half-written file forever.
    this.child = canTieToParent
      ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args], { stdio: [...stdio], env, detached: true })
      : spawn(command, args, { stdio: [...stdio], env, detached: true });
    this.child.stderr!.on('data', (chunk: Buffer) => this.appendStderr(chunk));
    // EPIPE when the program stops reading early: its exit status says why.
    this.child.stdin?.on('error', () => undefined);

    const onAbort = () => this.stop();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) this.stop();
    const timeout = options.timeoutMs ? setTimeout(() => this.stop(), options.timeoutMs) : undefined;

    this.exited = new Promise<LibpqExit>((resolve) => {
      let spawnError: NodeJS.ErrnoException | undefined;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        options.signal?.removeEventListener('abort', onAbort);
        clearTimeout(timeout);
        clearTimeout(this.killTimer);
        resolve({ code, signal, spawnError, stopped: this.stopped });
      };
      // 'error' without 'close' happens when the spawn itself fails: it must be handled, or it would take the worker down.
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        spawnError = err;
        if (this.child.pid === undefined) finish(null, null);
      });
      this.child.on('close', (code, signal) => finish(code, signal));
    });
  }

  get stdin(): Writable {
    return this.child.stdin!;
  }

  get stdout(): Readable {
    return this.child.stdout!;
  }

  /** SIGTERM now, SIGKILL after the grace period if it is still there. */
  stop(): void {
    if (this.stopped || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.stopped = true;
    this.signalGroup('SIGTERM');
    this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    this.killTimer.unref();
  }

  /** SIGKILL at once: for a load that must never see the end of its input (see psql-load). */
  killNow(): void {
    this.stopped = true;
    this.signalGroup('SIGKILL');
  }

  /** The whole process group; the child alone where there is none (it was never started, or is gone). */
  private signalGroup(signal: NodeJS.Signals): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }

  /** stderr so far: bounded to its head and tail, redacted, without row data. */
  errorText(): string {
    return redact(withoutRowData(this.stderr), this.ctx.secrets.concat(this.options.target.password ?? [])).trim();
  }

  /** Resolves when the program exited 0; rejects with a LibpqError otherwise. */
  async done(): Promise<void> {
    const exit = await this.exited;
    if (exit.code === 0 && !exit.spawnError) return;
    throw this.failure(exit);
  }

  /** The LibpqError for an exit that was not a success. */
  failure(exit: LibpqExit): LibpqError {
    const stderr = this.errorText();
    const { kind, retryable, message } = classifyFailure({
      program: this.name,
      command: this.command,
      exit,
      stderr,
      role: this.options.target.user,
    });
    return new LibpqError(this.name, kind, retryable, message, exit, stderr);
  }

  private appendStderr(chunk: Buffer): void {
    this.stderr += chunk.toString();
    if (this.stderr.length > STDERR_LIMIT * 2) {
      // The cause is usually at one end: keep the head and the tail.
      this.stderr = `${this.stderr.slice(0, STDERR_LIMIT / 2)}\n…\n${this.stderr.slice(-STDERR_LIMIT / 2)}`;
    }
  }
}

/** Starts a libpq program. Wait for it with `done()` or `exited`. */
export function runLibpq(ctx: LibpqContext, program: LibpqProgram, options: LibpqRunOptions): LibpqProcess {
  return new LibpqProcess(ctx, program, options);
}

const FIELD = '\x1f';

/**
 * One statement through psql (libpq's own URI, passfile and PG* handling), its rows split into
 * fields. psql never prompts (`--no-password`) and stops at the first error.
 */
export async function psqlRows(
  ctx: LibpqContext,
  target: DatabaseTarget,
  sql: string,
  options: Pick<LibpqRunOptions, 'signal' | 'timeoutMs'> = {},
): Promise<string[][]> {
  const psql = runLibpq(ctx, 'psql', {
    args: ['-X', '-q', '-A', '-t', '-F', FIELD, '-v', 'ON_ERROR_STOP=1', '--no-password', '-c', sql],
    target,
    stdout: 'pipe',
    ...options,
  });
  const chunks: Buffer[] = [];
  psql.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  await psql.done();
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(FIELD));
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

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
