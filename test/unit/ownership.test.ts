import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryNow } from '../../src/files/directory-clock';
import {
  OwnerLease,
  OwnerRecordExists,
  decideOwnership,
  judgeOwnerRecord,
  madeByEarlierExecutionOf,
  ownerRecordPath,
  readOwnerRecord,
  type OwnerRecord,
  type RunRef,
} from '../../src/files/ownership';
import { currentProcessIdentity, processStartTime } from '../../src/files/process-identity';
import { fatMountUnavailable, mountFat, type FatMount } from '../support/fat-mount';
import { isolatedHostUnavailable, startIsolatedHost, waitForOutput } from '../support/second-host';

const run: RunRef = { workflowId: 'backup-production-2025-10-20T03:00:00Z', runId: 'run-1', activityId: '3', attempt: 1 };
const here = { bootId: 'boot-a', pidNamespace: 'pid:[4026531836]' };
const record = (over: Partial<OwnerRecord> = {}): OwnerRecord => ({
  version: 1,
  ...run,
  host: 'db-backup-1',
  ...here,
  pid: 4242,
  pidStartTime: '123456',
  files: ['app_production_20251020_030000.sql.part'],
  databases: [],
  leaseMs: 10_000,
  leaseId: 'f00dfeedcafe0001',
  seq: 3,
  writtenAt: '2025-10-20T03:00:10.000Z',
  ...over,
});

describe('decideOwnership', () => {
  it('a writer on this host whose process is gone is dead, whatever its lease says', () => {
    expect(decideOwnership(record(), { here, ownerStartTime: undefined, leaseAgeMs: 0 }).verdict).toBe('dead');
  });

  it('a pid that now belongs to another process (another start time) is dead', () => {
    const v = decideOwnership(record(), { here, ownerStartTime: '999999', leaseAgeMs: 0 });
    expect(v).toEqual({ verdict: 'dead', why: expect.stringMatching(/now belongs to another process/) });
  });

  it('a writer running on this host is alive even when its lease is late (a busy event loop is not a dead writer)', () => {
    expect(decideOwnership(record(), { here, ownerStartTime: '123456', leaseAgeMs: 3_600_000 }).verdict).toBe('alive');
  });

  it('a writer in another PID namespace (another host, or a container) is judged by its lease only', () => {
    const other = { ...here, pidNamespace: 'pid:[4026532999]' };
    // Its pid happens to be gone here: that proves nothing about the other namespace.
    expect(decideOwnership(record(), { here: other, ownerStartTime: undefined, leaseAgeMs: 5_000 }).verdict).toBe('alive');
    expect(decideOwnership(record(), { here: other, ownerStartTime: undefined, leaseAgeMs: 61_000 }).verdict).toBe('stale');
  });

  it('a record from before a reboot of this host is judged by its lease (pids restarted)', () => {
    expect(decideOwnership(record({ bootId: 'boot-before' }), { here, ownerStartTime: '123456', leaseAgeMs: 10_000 }).verdict).toBe('alive');
    expect(decideOwnership(record({ bootId: 'boot-before' }), { here, ownerStartTime: '123456', leaseAgeMs: 600_000 }).verdict).toBe('stale');
  });

  it('stale after N leases, but never sooner than a minute (FAT time stamps, NFS attribute caches)', () => {
    const elsewhere = { bootId: 'boot-b', pidNamespace: 'pid:[1]' };
    expect(decideOwnership(record({ leaseMs: 20_000 }), { here: elsewhere, ownerStartTime: undefined, leaseAgeMs: 110_000 }).verdict).toBe('alive');
    expect(decideOwnership(record({ leaseMs: 20_000 }), { here: elsewhere, ownerStartTime: undefined, leaseAgeMs: 121_000 }).verdict).toBe('stale');
    expect(decideOwnership(record({ leaseMs: 1_000 }), { here: elsewhere, ownerStartTime: undefined, leaseAgeMs: 30_000 }).verdict).toBe('alive');
    expect(decideOwnership(record({ leaseMs: 0 }), { here: elsewhere, ownerStartTime: undefined, leaseAgeMs: 30_000 }).verdict).toBe('alive');
  });

  it('without a readable age, a writer that cannot be checked is unknown: leave its files', () => {
    expect(decideOwnership(record(), { here: { bootId: 'x', pidNamespace: 'y' }, ownerStartTime: undefined, leaseAgeMs: undefined }).verdict).toBe('unknown');
  });

  it('identities that could not be read never count as this host', () => {
    const unknown = { bootId: 'unknown', pidNamespace: 'unknown' };
    expect(decideOwnership(record(unknown), { here: unknown, ownerStartTime: undefined, leaseAgeMs: 1_000 }).verdict).toBe('alive');
  });

  it('tells an earlier execution of the same run (a retry, or the run after it moved) from another run', () => {
    expect(madeByEarlierExecutionOf(record({ attempt: 1 }), { ...run, attempt: 2 })).toBe(true);
    expect(madeByEarlierExecutionOf(record({ activityId: '3' }), { ...run, activityId: '9' })).toBe(true);
    expect(madeByEarlierExecutionOf(record(), run)).toBe(false);
    expect(madeByEarlierExecutionOf(record({ runId: 'run-0' }), { ...run, attempt: 2 })).toBe(false);
  });
});

let fat: FatMount | undefined;
const fatSkip = fatMountUnavailable();
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-owner-'));
  if (!fatSkip) fat = mountFat();
});
afterAll(() => {
  fat?.unmount();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * A fresh file each time: fusefat does not truncate on rewrite (a shorter record would keep
 * the old tail), which is also why the module never rewrites a record in place.
 */
function writeRecord(file: string, contents: object) {
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, JSON.stringify(contents));
}

let n = 0;
const fileSystems = [
  // rename over an existing file: atomic locally; fusefat (like some SMB servers) removes the old name first.
  { name: 'a local directory', dir: () => tmp, skip: undefined, atomicReplace: true },
  { name: 'FAT through FUSE', dir: () => fat!.dir, skip: fatSkip, atomicReplace: false },
] as const;

describe.each(fileSystems)('owner records on $name', ({ dir, skip, atomicReplace }) => {
  const base = () => `app_production_20251020_0300${String(++n).padStart(2, '0')}`;

  it('claiming a name is exclusive: the second claim fails and leaves the first record as it was', async (ctx) => {
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(dir(), base());
    const lease = await OwnerLease.claim(file, run, { files: ['x.sql.part'] });
    await expect(OwnerLease.claim(file, { ...run, runId: 'run-2' }, {})).rejects.toBeInstanceOf(OwnerRecordExists);
    expect((await readOwnerRecord(file))?.runId).toBe('run-1');
    expect((await judgeOwnerRecord(file)).verdict).toBe('alive'); // this very process
    await lease.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a record of a process of this host that has exited is dead; one whose pid was reused is dead', async (ctx) => {
    if (skip) ctx.skip(skip);
    const child = spawn('sleep', ['30']);
    const startTime = await processStartTime(child.pid!);
    const me = await currentProcessIdentity();
    const file = ownerRecordPath(dir(), base());
    writeRecord(file, record({ ...me, pid: child.pid!, pidStartTime: startTime! }));
    expect((await judgeOwnerRecord(file)).verdict).toBe('alive');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect(await judgeOwnerRecord(file)).toMatchObject({ verdict: 'dead', why: expect.stringMatching(/is gone/) });
    writeRecord(file, record({ ...me, pidStartTime: '1' })); // this process's pid, another start time
    expect(await judgeOwnerRecord(file)).toMatchObject({ verdict: 'dead', why: expect.stringMatching(/another process/) });
  });

  it('a record of another host is stale only once its lease is old by the directory clock', async (ctx) => {
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(dir(), base());
    writeRecord(file, record({ bootId: 'another-host' }));
    expect((await judgeOwnerRecord(file)).verdict).toBe('alive');
    const now = (await directoryNow(dir()))!;
    const old = new Date(now - 5 * 60_000);
    fs.utimesSync(file, old, old);
    expect(await judgeOwnerRecord(file)).toMatchObject({ verdict: 'stale', why: expect.stringMatching(/not renewed for 30\d s/) });
  });

  it('a missing or foreign record is unknown: nothing may be decided from it', async (ctx) => {
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(dir(), base());
    expect((await judgeOwnerRecord(file)).verdict).toBe('unknown');
    writeRecord(file, { not: 'ours' });
    expect((await judgeOwnerRecord(file)).verdict).toBe('unknown');
    writeRecord(file, record({ files: ['../etc/passwd'] }));
    expect((await judgeOwnerRecord(file)).verdict).toBe('unknown');
  });

  it('renews its lease, names files before they are made, and readers never judge it dead or stale meanwhile', async (ctx) => {
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(dir(), base());
    const lease = await OwnerLease.claim(file, run, { leaseMs: 50 });
    let reads = 0;
    let unreadable = 0;
    const verdicts = new Set<string>();
    const reader = (async () => {
      const until = Date.now() + 700;
      while (Date.now() < until) {
        const seen = await readOwnerRecord(file);
        if (seen)
          expect(seen.leaseId).toBe(lease.current.leaseId); // a whole record of this lease, never a mix
        else unreadable++;
        verdicts.add((await judgeOwnerRecord(file)).verdict);
        reads++;
      }
    })();
    await lease.add({ files: ['a.sql.part'], databases: ['pgbw_verify_x'] });
    await reader;
    // Elsewhere a reader may find no record, or a zero-filled one, for a moment: it cannot judge, so it leaves the files alone.
    if (atomicReplace) expect(unreadable).toBe(0);
    expect([...verdicts].filter((v) => v !== 'alive' && v !== 'unknown')).toEqual([]);
    const seen = (await readOwnerRecord(file))!;
    expect(seen.seq).toBeGreaterThan(3);
    expect(seen.files).toEqual(['a.sql.part']);
    expect(seen.databases).toEqual(['pgbw_verify_x']);
    expect(reads).toBeGreaterThan(10);
    await lease.forget({ files: ['a.sql.part'] });
    expect((await readOwnerRecord(file))!.files).toEqual([]);
    await lease.release();
    expect(fs.readdirSync(dir()).filter((f) => f.includes('owner-tmp'))).toEqual([]);
  });

  it('a record taken over by a later execution makes the old lease notice it lost', async (ctx) => {
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(dir(), base());
    const lost: string[] = [];
    const old = await OwnerLease.claim(file, run, { files: ['a.sql'], onLost: (why) => lost.push(why) });
    old.stop(); // as if its worker hung
    const judged = (await readOwnerRecord(file))!;
    const retry = { ...run, activityId: '7' };
    const next = await OwnerLease.takeOver(file, retry, judged);
    expect(next.current.files).toEqual(['a.sql']); // the new owner finishes or removes them
    expect((await readOwnerRecord(file))!.activityId).toBe('7');
    await expect(OwnerLease.takeOver(file, { ...run, activityId: '8' }, judged)).rejects.toBeInstanceOf(OwnerRecordExists); // judged record is gone
    await expect(old.renew()).rejects.toThrow(/lost/);
    expect(old.isLost()).toBe(true);
    expect(lost[0]).toMatch(/now belongs to/);
    expect((await readOwnerRecord(file))!.activityId).toBe('7'); // the old owner did not write over it
    await next.release();
  });
});

describe('owner records across hosts sharing a directory', () => {
  it("a live writer in another PID namespace is never judged dead from here, even though this host's /proc cannot see it", async (ctx) => {
    const skip = isolatedHostUnavailable();
    if (skip) ctx.skip(skip);
    const file = ownerRecordPath(tmp, 'shared_production_20251020_030000');
    const script = `const { OwnerLease } = require(${JSON.stringify(path.resolve(__dirname, '../../src/files/ownership.ts'))});
      OwnerLease.claim(process.env.RECORD, ${JSON.stringify(run)}, { leaseMs: 200 }).then(() => console.log('claimed'));
      setInterval(() => undefined, 1000);`;
    const other = startIsolatedHost({ hostname: 'backup-host-b', env: { RECORD: file }, command: [process.execPath, '--import', 'tsx', '-e', script] });
    try {
      await waitForOutput(other, 'claimed', 30_000);
      const written = (await readOwnerRecord(file))!;
      expect(written.host).toBe('backup-host-b');
      expect(written.pid).toBeLessThan(10); // its pid in its own namespace: meaningless here
      expect((await judgeOwnerRecord(file)).verdict).toBe('alive');
      await other.crash();
      // Gone, but nothing here can prove it: only the lease will tell, after a minute.
      const verdict = await judgeOwnerRecord(file);
      expect(verdict).toMatchObject({ verdict: 'alive', why: expect.stringMatching(/written on backup-host-b, renewed \d+ s ago/) });
      // …once it has not been renewed for N leases (here 3 × 200 ms, floor lowered for the test), it is stale.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await judgeOwnerRecord(file, { staleAfterIntervals: 3, minStaleMs: 600 })).toMatchObject({ verdict: 'stale' });
    } finally {
      await other.crash();
    }
  });
});
