import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program';
import { startThrowawayCluster } from '../../src/dev/postgres-cluster';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-preflight-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A PG_BINDIR whose initdb exists and fails, as a broken installation's would. */
function failingBinDir(): string {
  const dir = path.join(scratch, 'bin');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(scratch, 0o755);
  fs.writeFileSync(path.join(dir, 'initdb'), '#!/bin/sh\necho "initdb: simulated failure" >&2\nexit 1\n', { mode: 0o755 });
  return dir;
}

function notExecutable(): string {
  const file = path.join(scratch, 'temporal');
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  return file;
}

async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  const signalHandlers = process.listenerCount('SIGINT');
  // PATH as a worker has it: start-up checks look for pg_dump and psql there.
  const code = await runCli(argv, { env: { PATH: process.env.PATH!, ...env }, io });
  // Nothing started, not even the Ctrl-C handling that stops what was.
  expect(process.listenerCount('SIGINT')).toBe(signalHandlers);
  return { code, text: lines.join('\n') };
}

const OWN_DATABASE = { DATABASE_URL: 'postgresql://u@localhost/db' };

describe('`start` and `dev` check everything before they start a server', () => {
  it('`start ../x`: the label given as an argument is checked like BACKUP_ENVIRONMENT (exit code 2)', async () => {
    const { code, text } = await cli(['start', '../x'], { ...OWN_DATABASE, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(text).toBe('invalid environment label "../x": use 1 to 64 characters from A-Z a-z 0-9 _ - (add --help for usage)');
    expect(code).toBe(2);
  });

  it.each(['start', 'dev'])('`%s` reports a bad worker setting when it would make the demo database itself', async (command) => {
    const { code, text } = await cli([command], { BACKUP_GZIP_LEVEL: '10', PG_BINDIR: '/nonexistent', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(text).toBe('configuration error: BACKUP_GZIP_LEVEL: expected a whole number from 1 to 9, got "10"');
    expect(code).toBe(2);
  });

  it.each(['start', 'dev'])('`%s`: a PG_BINDIR without initdb is a configuration error naming it', async (command) => {
    const { code, text } = await cli([command], { PG_BINDIR: '/nonexistent', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(text).toMatch(/^configuration error: PG_BINDIR: \/nonexistent has no initdb/);
    expect(code).toBe(2);
  });

  it.each([
    ['start', '/nonexistent/temporal', 'does not exist'],
    ['dev', '/nonexistent/temporal', 'does not exist'],
    ['start', 'not-executable', 'is not executable'],
    ['start', '/', 'is not a file'],
  ])('`%s`: TEMPORAL_CLI_PATH=%s is a configuration error, not a fall-back to another binary', async (command, given, problem) => {
    const cliPath = given === 'not-executable' ? notExecutable() : given;
    const { code, text } = await cli([command], { ...OWN_DATABASE, TEMPORAL_CLI_PATH: cliPath });
    expect(text).toBe(`configuration error: TEMPORAL_CLI_PATH: ${cliPath} ${problem}`);
    expect(code).toBe(2);
  });

  it.each(['start', 'dev'])('`%s`: a malformed TEMPORAL_ADDRESS is reported before the demo database is made', async (command) => {
    const { code, text } = await cli([command], { TEMPORAL_ADDRESS: 'garbage:abc', PG_BINDIR: failingBinDir() });
    expect(text).toMatch(/^configuration error: TEMPORAL_ADDRESS: expected host or host:port/);
    expect(code).toBe(2);
  });

  it('a throwaway cluster that fails to start leaves no directory behind', async () => {
    const parentDir = path.join(scratch, 'clusters');
    fs.mkdirSync(parentDir, { mode: 0o755 });
    await expect(startThrowawayCluster({ parentDir, env: { PG_BINDIR: failingBinDir() } })).rejects.toThrow(/simulated failure/);
    expect(fs.readdirSync(parentDir)).toEqual([]);
  });
});
