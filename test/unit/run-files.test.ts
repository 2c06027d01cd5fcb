import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeLeftovers, type LeftoverOptions, type RunState } from '../../src/files/leftovers';
import { currentProcessIdentity } from '../../src/files/process-identity';
import { addToRecord, claimRecord, forgetInRecord, NameHeld, readRecord, recordPathFor, releaseRecord, type RunRef } from '../../src/files/run-files';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-records-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (id: string, attempt = 1): RunRef & { environment: string } => ({
  namespace: 'default',
  workflowId: `wf-${id}`,
  runId: `run-${id}`,
  activityId: '1',
  attempt,
  environment: 'production',
});

function options(states: Record<string, RunState> = {}, dropped: string[] = []): LeftoverOptions {
  return {
    namespace: 'default',
    runState: async (workflowId) => states[workflowId] ?? 'unknown',
    dropDatabase: async (_environment, name) => void dropped.push(name),
  };
}

const touch = (...names: string[]) => names.forEach((n) => fs.writeFileSync(path.join(dir, n), 'x'));

describe('records of what a run made', () => {
  it('claims a name exclusively, records before the files exist, forgets and releases', async () => {
    const recordPath = recordPathFor(dir, 'app_production_20251020_030000');
    await claimRecord(recordPath, run('a'), { files: ['app_production_20251020_030000.sql.part'] });
    const other = await claimRecord(recordPath, run('b')).catch((err) => err);
    expect(other).toBeInstanceOf(NameHeld);
    expect((other as NameHeld).record?.workflowId).toBe('wf-a');

    expect(await addToRecord(recordPath, run('a'), { files: ['x.sql.gz'], databases: ['pgbw_verify_1'] })).toBe(true);
    expect(await forgetInRecord(recordPath, run('a'), { files: ['app_production_20251020_030000.sql.part'] })).toBe(true);
    expect(await readRecord(recordPath)).toMatchObject({ files: ['x.sql.gz'], databases: ['pgbw_verify_1'], pid: process.pid });
    // Another run never writes under this run's record; a run without one has nothing to update.
    await expect(addToRecord(recordPath, run('b'), { files: ['y'] })).rejects.toThrow(/not this run's/);
    expect(await addToRecord(recordPathFor(dir, 'none'), run('a'), { files: ['y'] })).toBe(false);
    await releaseRecord(recordPath);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps the record whole while dump and compress of one run update it at once', async () => {
    const recordPath = recordPathFor(dir, 'b');
    await claimRecord(recordPath, run('a'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => addToRecord(recordPath, run('a'), { files: [`f${i}`] })));
    expect((await readRecord(recordPath))?.files).toHaveLength(20);
  });
});

describe('what a cleanup removes', () => {
  it("removes a crashed process's files on this host, and a closed run's anywhere; leaves live runs, other namespaces and unrecorded files", async () => {
    const here = await currentProcessIdentity();
    const elsewhere = { bootId: 'other-boot', pidNamespace: 'pid:[1]', host: 'host-2' };
    const write = (base: string, record: object) =>
      fs.writeFileSync(
        path.join(dir, `${base}.owner`),
        JSON.stringify({ version: 1, ...run(base), files: [`${base}.sql.part`], databases: [], ...here, ...record }),
      );
    const dead = spawnSync('true').pid!;
    write('crashed', { pid: dead, pidStartTime: '42' });
    write('alive', {});
    write('open', elsewhere);
    write('closed', { ...elsewhere, databases: ['pgbw_verify_abc', 'not_ours'] });
    write('unasked', elsewhere);
    write('foreign', { ...elsewhere, namespace: 'other' });
    for (const base of ['crashed', 'alive', 'open', 'closed', 'unasked', 'foreign']) touch(`${base}.sql.part`);
    touch('unrecorded.sql.part');

    const dropped: string[] = [];
    const report = await removeLeftovers(dir, options({ 'wf-alive': 'open', 'wf-open': 'open', 'wf-closed': 'closed', 'wf-foreign': 'closed' }, dropped));
    expect(report.removed.sort()).toEqual(['closed.sql.part', 'crashed.sql.part']);
    expect(dropped).toEqual(['pgbw_verify_abc']); // never a database that is not a scratch database
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        'alive.owner',
        'alive.sql.part',
        'foreign.owner',
        'foreign.sql.part',
        'open.owner',
        'open.sql.part',
        'unasked.owner',
        'unasked.sql.part',
        'unrecorded.sql.part',
      ].sort(),
    );
  });

  it("a run's own cleanup takes all of its records, whoever wrote them; a failed run keeps its published file", async () => {
    const elsewhere = { bootId: 'other-boot', pidNamespace: 'pid:[1]', host: 'host-2' };
    const base = 'app_production_20251020_030000';
    const files = [`${base}.sql.part`, `${base}.sql`, `${base}.sql.gz.part`, `${base}.sql.gz`];
    fs.writeFileSync(
      path.join(dir, `${base}.owner`),
      JSON.stringify({ version: 1, ...run('x'), files, databases: [], ...(await currentProcessIdentity()), ...elsewhere }),
    );
    touch(...files, 'other_production_20251020_030000.sql.gz');
    await removeLeftovers(dir, { ...options(), run: { workflowId: 'wf-x', runId: 'run-x' }, keepPublished: true });
    expect(fs.readdirSync(dir).sort()).toEqual([`${base}.sql.gz`, 'other_production_20251020_030000.sql.gz'].sort());
  });
});
