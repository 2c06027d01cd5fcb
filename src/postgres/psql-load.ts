import { Writable } from 'node:stream';
import type { DatabaseTarget } from '../config/database-url';
import { runLibpq, type LibpqContext, type LibpqProcess } from './libpq';

export interface PsqlLoad {
  /** Write the SQL here; ending it (after every check passed) is what commits. */
  input: Writable;
  /** Settles when psql has exited: resolves only if it committed; rejects with a LibpqError otherwise. */
  done: Promise<void>;
  /** The psql process (its stdout, when asked for, carries the command tags: `COPY 20000`). */
  psql: LibpqProcess;
}

export interface PsqlLoadOptions {
  /** Runs after the last byte was written and before COMMIT is sent; throwing rolls everything back. */
  beforeCommit?: () => Promise<void>;
  signal?: AbortSignal;
  /** `pipe` to read psql's command tags (it then runs without -q). */
  stdout?: 'ignore' | 'pipe';
}

/**
 * psql reading a plain dump from stdin inside one transaction that only an explicit COMMIT
 * ends. This is --single-transaction made fail-safe: with -1, psql commits whenever its stdin
 * reaches EOF without an error — also when this process dies mid-stream (Ctrl-C, kill, OOM),
 * which would commit half a database. Here EOF without our trailing COMMIT leaves the
 * transaction open, so the server rolls it back. On any upstream error psql is SIGKILLed
 * before its stdin closes.
 */
export function startPsqlLoad(ctx: LibpqContext, target: DatabaseTarget, options: PsqlLoadOptions = {}): PsqlLoad {
  const quiet = options.stdout === 'pipe' ? [] : ['-q'];
  const psql = runLibpq(ctx, 'psql', {
    args: ['-X', ...quiet, '-v', 'ON_ERROR_STOP=1', '--no-password'],
    target,
    stdin: 'pipe',
    stdout: options.stdout ?? 'ignore',
    signal: options.signal,
  });
  const stdin = psql.stdin;

  let exited = false;
  let onExit: (() => void) | undefined;
  const done = psql.exited.then((exit) => {
    exited = true;
    onExit?.();
    if (exit.code !== 0 || exit.spawnError) throw psql.failure(exit);
  });
  done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile

  const exitedEarly = () => new Error('psql exited before the load finished');
  const send = (chunk: Buffer | string, callback: (err?: Error | null) => void) => {
    if (exited) return callback(exitedEarly());
    if (stdin.write(chunk)) return callback();
    onExit = () => callback(exitedEarly());
    stdin.once('drain', () => {
      onExit = undefined;
      callback();
    });
  };

  let started = false;
  const input = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (started) return send(chunk, callback);
      started = true;
      send(`BEGIN;\n`, (err) => (err ? callback(err) : send(chunk, callback)));
    },
    final(callback) {
      (options.beforeCommit ?? (async () => undefined))().then(
        () => send(`${started ? '' : 'BEGIN;\n'}\nCOMMIT;\n`, (err) => (err ? callback(err) : stdin.end(() => callback()))),
        (err: Error) => callback(err),
      );
    },
    destroy(err, callback) {
      if (err && !exited) {
        // Kill first, close stdin after: psql must never see EOF while it can still act on it.
        psql.killNow();
        psql.child.once('close', () => stdin.destroy());
      }
      callback(err);
    },
  });
  return { input, done, psql };
}
