import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackupResult } from '../src/common/types';
import { runCli } from '../src/cli/program';
import type { Env } from '../src/config/registry';
import { backupFiles, startBackup, startTestWorker } from './support/backup-worker';
import { freshDemoDatabase } from './support/database';

/** `pg-backup-workflow prune …`, its lines of output collected by `out`. */
const pruneCli = (argv: string[], env: Env, out: (line: string) => void) => runCli(['prune', ...argv], { env, io: { out, err: out } });

describe('the prune step', () => {
  it('after a successful backup keeps the newest BACKUP_KEEP_LAST of this database and label only; never after a failure', async () => {
    const source = await freshDemoDatabase('prune', 200);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-prune-'));
    const old = [1, 2, 3].map((d) => `${source.name}_production_2025010${d}_030000.sql.gz`);
    const untouchable = [`${source.name}_staging_20250101_030000.sql.gz`, `other_production_20250101_030000.sql.gz`, 'README.txt'];
    for (const f of [...old, ...untouchable]) fs.writeFileSync(path.join(dir, f), 'x');
    for (const f of old) fs.writeFileSync(path.join(dir, `${f}.sha256`), 'x');

    // A failing run (pg_dump missing) must not prune anything.
    const failing = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_KEEP_LAST: '1', BACKUP_PG_DUMP: '/nonexistent/pg_dump' });
    try {
      await (await startBackup(failing, 'production')).result().catch(() => undefined);
    } finally {
      await failing.stop();
    }
    expect(fs.readdirSync(dir)).toHaveLength(old.length * 2 + untouchable.length);

    // Dry run lists, removes nothing.
    const lines: string[] = [];
    expect(await pruneCli(['--dry-run', 'production'], { DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_KEEP_LAST: '2' }, (l) => lines.push(l))).toBe(0);
    expect(lines).toContain(`  would remove ${old[0]}`);
    expect(fs.readdirSync(dir)).toHaveLength(old.length * 2 + untouchable.length);
    // Without labels it takes the configured ones; a blank BACKUP_ENVIRONMENTS counts as unset.
    const byDefault: string[] = [];
    const env = { DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_KEEP_LAST: '2', BACKUP_ENVIRONMENTS: ' ', BACKUP_ENVIRONMENT: 'production' };
    expect(await pruneCli(['--dry-run'], env, (l) => byDefault.push(l))).toBe(0);
    expect(byDefault).toEqual(lines);

    const w = await startTestWorker({ DATABASE_URL: source.url, BACKUP_DIR: dir, BACKUP_KEEP_LAST: '2' });
    try {
      const result: BackupResult = await (await startBackup(w, 'production')).result();
      expect(result.pruned).toEqual([{ target: `dir:${dir}`, kept: 2, removed: [old[1], old[0]] }]);
      expect(fs.readdirSync(dir).sort()).toEqual([...backupFiles(result), old[2], `${old[2]}.sha256`, ...untouchable].sort());
    } finally {
      await w.stop();
    }
  });
});
