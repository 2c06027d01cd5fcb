import { execFile } from 'node:child_process';
import { ConfigError } from '../config/config-error';
import { systemEnvironment, type Env } from '../config/registry';
import type { LibpqTools } from './tools';

/**
 * pg_dump and psql must be there: a worker says so at start (exit 2, naming BACKUP_PG_DUMP)
 * instead of every backup failing at 03:00. Only a program that is missing or not executable is
 * refused; one whose `--version` fails otherwise (a wrapper that runs pg_dump elsewhere) passes.
 */
export async function requireLibpqTools(tools: LibpqTools, env: Env): Promise<void> {
  await Promise.all([mustStart(tools.pgDump, 'pg_dump', env), mustStart(tools.psql, 'psql', env)]);
}

function mustStart(command: string, name: string, env: Env): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { env: systemEnvironment(env), timeout: 10_000 }, (err) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') {
        const where = command.includes('/') ? `at ${command}` : 'on PATH';
        return reject(
          new ConfigError('BACKUP_PG_DUMP', `${name} was not found ${where}: install the PostgreSQL client programs, or point BACKUP_PG_DUMP at a pg_dump`),
        );
      }
      if (code === 'EACCES') return reject(new ConfigError('BACKUP_PG_DUMP', `${command} is not executable`));
      resolve();
    });
  });
}
