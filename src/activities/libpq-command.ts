import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DatabaseTarget } from '../config';

const SETPRIV = '/usr/bin/setpriv';
const canTieToParent = process.platform === 'linux' && fs.existsSync(SETPRIV);

/**
 * Spawns a libpq client (pg_dump, psql) for `target`: the URI without password in argv, the
 * password only in the child's environment (argv is world-readable in /proc).
 * On Linux the child is tied to this process with setpriv --pdeathsig: if the worker is
 * killed, pg_dump dies too instead of holding a snapshot and a half-written file forever.
 */
export function spawnLibpq(command: string, args: string[], target: DatabaseTarget, options: SpawnOptions) {
  const env = {
    ...process.env,
    ...(target.password ? { PGPASSWORD: target.password } : {}),
    PGAPPNAME: process.env.PGAPPNAME ?? 'pg-backup-workflow',
  };
  const fullArgs = [...args, `--dbname=${target.safeUri}`];
  return canTieToParent
    ? spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...fullArgs], { ...options, env })
    : spawn(command, fullArgs, { ...options, env });
}

/** psql next to a configured pg_dump path, else psql from PATH. */
export function psqlBeside(pgDumpPath: string): string {
  if (!pgDumpPath.includes('/')) return 'psql';
  const sibling = path.join(path.dirname(pgDumpPath), 'psql');
  return fs.existsSync(sibling) ? sibling : 'psql';
}
