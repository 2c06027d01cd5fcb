import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config/config-error';
import { executableProblem } from '../files/executable';
import { option, type Env } from '../config/registry';

/**
 * A private, throwaway PostgreSQL cluster on a free loopback port, for `npm start` and the
 * tests. Uses Debian's server binaries; when run as root (CI), the server runs as the
 * `postgres` user because initdb refuses root. Password authentication (scram) over TCP, so
 * backups exercise the same path as production.
 */
export interface ThrowawayCluster {
  port: number;
  /** Superuser URL with password, e.g. postgresql://postgres:…@127.0.0.1:PORT/postgres */
  adminUrl: string;
  password: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startThrowawayCluster(options: { parentDir?: string; env?: Env } = {}): Promise<ThrowawayCluster> {
  const bin = findPgBinDir(options.env);
  const asUser = runAsUser();
  const root = fs.mkdtempSync(path.join(options.parentDir ?? os.tmpdir(), 'pgbw-cluster-'));
  const dataDir = path.join(root, 'data');
  const password = randomBytes(12).toString('hex');
  const run = (cmd: string, args: string[]) => execFileSync(path.join(bin, cmd), args, { stdio: ['ignore', 'pipe', 'pipe'], ...(asUser ?? {}), cwd: root });

  let port: number;
  try {
    const pwFile = path.join(root, 'pw');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (asUser) {
      fs.chownSync(root, asUser.uid, asUser.gid);
      fs.chownSync(pwFile, asUser.uid, asUser.gid);
    }
    run('initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
      `--pwfile=${pwFile}`,
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    fs.rmSync(pwFile);

    port = await freePort();
    const settings = [`-p ${port}`, `-k ${root}`, "-c listen_addresses='127.0.0.1'", '-c fsync=off', '-c full_page_writes=off'];
    run('pg_ctl', ['-D', dataDir, '-l', path.join(root, 'server.log'), '-o', settings.join(' '), '-w', '-t', '60', 'start']);
  } catch (err) {
    // A failed start leaves nothing behind: no directory in TMPDIR, no server that outlived pg_ctl's wait.
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* not running after all */
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }

  // pg_ctl detaches the server: make sure it does not outlive this process (an exit without stop()).
  const stopNow = () => {
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* already stopped */
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', stopNow);

  return {
    port,
    password,
    dataDir,
    adminUrl: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      process.removeListener('exit', stopNow);
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/**
 * PG_BINDIR, else the newest /usr/lib/postgresql/<major>/bin, else `pg_config --bindir`: a
 * directory with initdb in it. None is a configuration error naming PG_BINDIR, found before
 * anything is started.
 */
export function findPgBinDir(env: Env = process.env): string {
  const configured = option(env, 'PG_BINDIR');
  if (configured) {
    if (!hasInitdb(configured))
      throw new ConfigError('PG_BINDIR', `${configured} has no initdb: expected the PostgreSQL server binaries, e.g. /usr/lib/postgresql/17/bin`);
    return configured;
  }
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const majors = fs
      .readdirSync(debian)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const dir = path.join(debian, major, 'bin');
      if (hasInitdb(dir)) return dir;
    }
  }
  let fromPgConfig: string | undefined;
  try {
    fromPgConfig = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    fromPgConfig = undefined;
  }
  if (fromPgConfig && hasInitdb(fromPgConfig)) return fromPgConfig;
  throw new ConfigError(
    'PG_BINDIR',
    'is not set and no PostgreSQL server binaries (initdb) were found in /usr/lib/postgresql/*/bin or `pg_config --bindir`: install the postgresql package (scripts/install-deps.sh) or set PG_BINDIR',
  );
}

function hasInitdb(dir: string): boolean {
  return executableProblem(path.join(dir, 'initdb')) === undefined;
}

function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Replaces the database in a postgresql:// URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
