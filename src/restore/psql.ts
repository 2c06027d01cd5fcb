import { Writable } from 'node:stream';
import type { DatabaseTarget } from '../config';
import { redact } from '../config/redact';
import { spawnLibpq } from '../activities/libpq-command';
import { BoundedText, withoutRowData } from '../activities/pg-dump-errors';
import { RestoreError } from './errors';

const FIELD = '\x1f';

/** Runs one query through psql (libpq's own URI, passfile and PG* handling) and returns its rows. */
export function psqlQuery(psqlPath: string, target: DatabaseTarget, query: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const child = spawnLibpq(psqlPath, ['-X', '-q', '-A', '-t', '-F', FIELD, '-v', 'ON_ERROR_STOP=1', '--no-password', '-c', query], target, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr = new BoundedText();
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.append(chunk));
    child.on('error', (err) => reject(psqlSpawnError(psqlPath, err)));
    child.on('close', (code) => {
      if (code !== 0) return reject(psqlFailure(code, stderr, target));
      const text = Buffer.concat(stdout).toString('utf8');
      resolve(
        text
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(FIELD)),
      );
    });
  });
}

export interface PsqlLoad {
  /** Write the SQL here; ending it (after every check passed) is what commits. */
  input: Writable;
  /** Settles when psql has exited: resolves only if it committed. */
  done: Promise<void>;
}

/**
 * psql reading a plain dump from stdin inside one transaction that only an explicit COMMIT
 * ends. This is --single-transaction made fail-safe: with -1, psql commits whenever its stdin
 * reaches EOF without an error — also when this process dies mid-stream (Ctrl-C, kill, OOM),
 * which would commit half a database. Here EOF without our trailing COMMIT leaves the
 * transaction open, so the server rolls it back. On any upstream error psql is SIGKILLed
 * before its stdin closes.
 */
export function startPsqlLoad(psqlPath: string, target: DatabaseTarget, beforeCommit: () => Promise<void>): PsqlLoad {
  const child = spawnLibpq(psqlPath, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password'], target, { stdio: ['pipe', 'ignore', 'pipe'] });
  const stdin = child.stdin!;
  const stderr = new BoundedText();
  child.stderr?.on('data', (chunk: Buffer) => stderr.append(chunk));
  stdin.on('error', () => undefined); // EPIPE when psql stops early: its own exit status explains why

  let exited = false;
  let onExit: (() => void) | undefined;
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(psqlSpawnError(psqlPath, err)));
    child.on('close', (code, signal) => {
      exited = true;
      onExit?.();
      if (code === 0) resolve();
      else reject(signal ? new RestoreError(`psql stopped by ${signal}`) : psqlFailure(code, stderr, target));
    });
  });
  done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile

  const send = (chunk: Buffer | string, callback: (err?: Error | null) => void) => {
    if (exited) return callback(new RestoreError('psql exited before the restore finished'));
    if (stdin.write(chunk)) return callback();
    onExit = () => callback(new RestoreError('psql exited before the restore finished'));
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
      beforeCommit().then(
        () => send(`${started ? '' : 'BEGIN;\n'}\nCOMMIT;\n`, (err) => (err ? callback(err) : stdin.end(() => callback()))),
        (err: Error) => callback(err),
      );
    },
    destroy(err, callback) {
      if (err && !exited) {
        // Kill first, close stdin after: psql must never see EOF while it can still act on it.
        child.kill('SIGKILL');
        child.once('close', () => stdin.destroy());
      }
      callback(err);
    },
  });
  return { input, done };
}

function psqlSpawnError(psqlPath: string, err: NodeJS.ErrnoException): Error {
  return err.code === 'ENOENT' ? new RestoreError(`psql not found at ${JSON.stringify(psqlPath)}: install the PostgreSQL client tools`) : err;
}

function psqlFailure(code: number | null, stderr: BoundedText, target: DatabaseTarget): RestoreError {
  const text = redact(withoutRowData(stderr.toString()).trim(), [target.password, process.env.PGPASSWORD]);
  if (code === 2) return new RestoreError(`cannot reach the target database ${target.safeUri}: ${text || 'psql exit code 2'}`);
  return new RestoreError(`psql failed (exit code ${code}): ${text || 'no message'}`);
}
