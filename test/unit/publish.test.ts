import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FinalNameTaken, LOCK_SUFFIX, PublishLockHeld, lockHolder, publishFile, removeStaleLock, syncDirectory } from '../../src/files/publish';
import { fatMountUnavailable, mountFat, type FatMount } from '../support/fat-mount';

/**
 * publishFile on real file systems: a temporary directory (hard links), the same with the
 * fallback forced, and a FAT image mounted through FUSE (no hard links: link() gives EPERM).
 */
let tmp: string;
let fat: FatMount | undefined;
const fatSkip = fatMountUnavailable();

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-publish-'));
  if (!fatSkip) fat = mountFat({ sizeMb: 96 });
});
afterAll(() => {
  fat?.unmount();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const fileSystems = [
  { name: 'a local file system (hard links)', dir: () => tmp, force: false, expected: 'link', skip: undefined },
  { name: 'a local file system with the no-link path forced', dir: () => tmp, force: true, expected: 'rename-under-lock', skip: undefined },
  { name: 'FAT through FUSE (no hard links)', dir: () => fat!.dir, force: false, expected: 'rename-under-lock', skip: fatSkip },
] as const;

let counter = 0;
function fresh(dir: string, content: string | Buffer) {
  const base = path.join(dir, `b${++counter}_production_20251020_030000.sql.gz`);
  fs.writeFileSync(`${base}.part`, content);
  return { part: `${base}.part`, final: base };
}

describe.each(fileSystems)('publishFile on $name', ({ dir, force, expected, skip }) => {
  it('makes the finished file visible under its final name and removes the .part', async (ctx) => {
    if (skip) ctx.skip(skip);
    const { part, final } = fresh(dir(), 'complete contents\n');
    expect(await publishFile(part, final, { forceLockPath: force })).toBe(expected);
    expect(fs.readFileSync(final, 'utf8')).toBe('complete contents\n');
    expect(fs.existsSync(part)).toBe(false);
    expect(fs.existsSync(final + LOCK_SUFFIX)).toBe(false);
  });

  it('never replaces an existing file: fails, keeps both files as they were', async (ctx) => {
    if (skip) ctx.skip(skip);
    const { part, final } = fresh(dir(), 'new\n');
    fs.writeFileSync(final, 'an older backup\n');
    await expect(publishFile(part, final, { forceLockPath: force })).rejects.toBeInstanceOf(FinalNameTaken);
    expect(fs.readFileSync(final, 'utf8')).toBe('an older backup\n');
    expect(fs.readFileSync(part, 'utf8')).toBe('new\n');
  });

  it('lets exactly one of several racing publishers have the name, whole', async (ctx) => {
    if (skip) ctx.skip(skip);
    const final = path.join(dir(), `race${++counter}_production_20251020_030000.sql.gz`);
    const parts = Array.from({ length: 6 }, (_, i) => {
      const part = `${final}.${i}.part`;
      fs.writeFileSync(part, Buffer.alloc(256 * 1024 + i, 48 + i));
      return part;
    });
    const outcomes = await Promise.allSettled(parts.map((p) => publishFile(p, final, { forceLockPath: force, lockWaitMs: 10_000 })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(FinalNameTaken);
    const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
    expect(fs.readFileSync(final).equals(Buffer.alloc(256 * 1024 + winner, 48 + winner))).toBe(true);
    for (const [i, p] of parts.entries()) expect(fs.existsSync(p)).toBe(i !== winner);
  });

  it('shows no partial file under the final name while publishing', async (ctx) => {
    if (skip) ctx.skip(skip);
    const size = 24 * 1024 * 1024;
    const { part, final } = fresh(dir(), Buffer.alloc(size, 7));
    const seen = new Set<number>();
    let publishing = true;
    const watcher = (async () => {
      while (publishing) {
        try {
          seen.add(fs.statSync(final).size);
        } catch {
          seen.add(-1); // not there yet
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await publishFile(part, final, { forceLockPath: force });
    publishing = false;
    await watcher;
    seen.add(fs.statSync(final).size);
    expect([...seen].filter((s) => s !== -1)).toEqual([size]);
  });

  it('waits for a lock held by another publisher, and never breaks it itself', async (ctx) => {
    if (skip) ctx.skip(skip);
    if (expected === 'link') ctx.skip('the link path takes no lock');
    const { part, final } = fresh(dir(), 'x');
    fs.mkdirSync(final + LOCK_SUFFIX); // a publisher that crashed after taking the lock
    const started = Date.now();
    await expect(publishFile(part, final, { forceLockPath: force, lockWaitMs: 300 })).rejects.toBeInstanceOf(PublishLockHeld);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(fs.existsSync(final)).toBe(false);
    expect(fs.existsSync(part)).toBe(true);
    // A sweep that judged this lock removes it; then publishing works.
    expect(await removeStaleLock(final + LOCK_SUFFIX, await lockHolder(final + LOCK_SUFFIX))).toBe(true);
    expect(await publishFile(part, final, { forceLockPath: force })).toBe(expected);
  });

  it('a sweep leaves a lock that is not the one it judged', async (ctx) => {
    if (skip) ctx.skip(skip);
    const lock = path.join(dir(), `judged${++counter}.sql.gz${LOCK_SUFFIX}`);
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'holder'), 'a live publisher\n');
    expect(await removeStaleLock(lock, 'the crashed publisher it judged\n')).toBe(false);
    expect(fs.readFileSync(path.join(lock, 'holder'), 'utf8')).toBe('a live publisher\n');
    fs.rmSync(lock, { recursive: true });
  });

  it('a lock left after the rename does not hide that the name is taken', async (ctx) => {
    if (skip) ctx.skip(skip);
    const { part, final } = fresh(dir(), 'second');
    fs.writeFileSync(final, 'published before the crash');
    fs.mkdirSync(final + LOCK_SUFFIX);
    await expect(publishFile(part, final, { forceLockPath: force, lockWaitMs: 10_000 })).rejects.toBeInstanceOf(FinalNameTaken);
    fs.rmSync(final + LOCK_SUFFIX, { recursive: true });
  });

  it('fsyncs the directory or skips where the file system cannot', async (ctx) => {
    if (skip) ctx.skip(skip);
    await expect(syncDirectory(dir())).resolves.toBeUndefined();
  });
});

describe('publishFile where link() works', () => {
  it('finishes a publish that crashed between link and unlink', async () => {
    const { part, final } = fresh(tmp, 'linked before the crash');
    fs.linkSync(part, final);
    expect(await publishFile(part, final)).toBe('already-published');
    expect(fs.existsSync(part)).toBe(false);
    expect(fs.readFileSync(final, 'utf8')).toBe('linked before the crash');
  });

  it('refuses files in two directories', async () => {
    await expect(publishFile(path.join(tmp, 'a.part'), path.join(os.tmpdir(), 'a'))).rejects.toThrow(/one directory/);
  });
});
