import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/**
 * Holds an ACCESS EXCLUSIVE lock on a table: a pg_dump started meanwhile connects, creates its
 * `.part` file and then waits, so a test can act "mid-dump" deterministically.
 */
export async function lockTable(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${pg.escapeIdentifier(table)} IN ACCESS EXCLUSIVE MODE`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('COMMIT');
      await client.end();
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** pg_dump processes on this machine whose command line mentions `needle`, with their full argv. */
export function pgDumpProcesses(needle: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (/(^|\/)pg_dump /.test(cmdline) && cmdline.includes(needle)) found.push({ pid: Number(pid), cmdline });
  }
  return found;
}

/** Every process's command line, for proving a secret appears in none. */
export function allCommandLines(): string {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
}

export function partialFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith('.part'));
}

/** The `.sql.part` files: one per pg_dump writing (a compress following it writes `.sql.gz.part` beside). */
export function dumpsInProgress(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith('.sql.part'));
}

const ROOT = path.resolve(__dirname, '../..');

/** `npm run worker` (or `node <args>`) as a child process with only `env` (plus PATH and HOME), its output collected. */
function spawnWorker(env: Record<string, string>, args = ['--import', 'tsx', 'src/worker.ts']): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

/** `npm run worker` (or `node <args>`) as its own OS process (so it can be SIGKILLed); resolves once it polls. */
export async function spawnWorkerProcess(env: Record<string, string>, args?: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const { child, output } = spawnWorker(env, args);
  process.once('exit', () => child.kill('SIGKILL'));
  await waitFor('the worker process to start polling', () => output().includes('backup worker polling') || child.exitCode !== null, 120_000);
  if (child.exitCode !== null) throw new Error(`worker exited early:\n${output()}`);
  return { child, output };
}

/** Runs `npm run worker` to completion and returns its exit code and output (for config errors). */
export function runWorkerProcess(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const { child, output } = spawnWorker(env);
    child.on('close', (code) => resolve({ code, output: output() }));
  });
}
