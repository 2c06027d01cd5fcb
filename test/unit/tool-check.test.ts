import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program';
import { requireLibpqTools } from '../../src/postgres/tool-check';
import { libpqTools } from '../../src/postgres/tools';

describe('the pg_dump check at start', () => {
  const env = { PATH: process.env.PATH };

  it('passes the installed pg_dump and psql', async () => {
    await expect(requireLibpqTools(libpqTools('pg_dump'), env)).resolves.toBeUndefined();
  });

  it('names BACKUP_PG_DUMP when the program is not there or cannot run', async () => {
    await expect(requireLibpqTools(libpqTools('/nonexistent/pg_dump'), env)).rejects.toThrow(
      /^BACKUP_PG_DUMP: pg_dump was not found at \/nonexistent\/pg_dump: install the PostgreSQL client programs/,
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-toolcheck-'));
    const notExecutable = path.join(dir, 'pg_dump');
    fs.writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    await expect(requireLibpqTools(libpqTools(notExecutable), env)).rejects.toThrow(`BACKUP_PG_DUMP: ${notExecutable} is not executable`);
    fs.rmSync(dir, { recursive: true });
  });

  it('lets a wrapper whose --version fails through (it may run pg_dump elsewhere)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-toolcheck-'));
    const wrapper = path.join(dir, 'pg_dump');
    fs.writeFileSync(wrapper, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
    await expect(requireLibpqTools(libpqTools(wrapper), env)).resolves.toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });

  it.each([['worker'], ['start'], ['dev']])('stops `%s` before it connects or starts anything (exit 2, naming BACKUP_PG_DUMP)', async (command) => {
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const env = {
      PATH: process.env.PATH!,
      DATABASE_URL: 'postgresql://u@localhost/db',
      BACKUP_PG_DUMP: '/nonexistent/pg_dump',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    };
    expect(await runCli([command], { env, io })).toBe(2);
    expect(lines.join('\n')).toContain('BACKUP_PG_DUMP: pg_dump was not found at /nonexistent/pg_dump');
  });
});
