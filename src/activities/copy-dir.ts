import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { DIR_MODE, exists, fileIn, openPart, publishPart, READ_CHUNK, removeQuietly } from '../files/files';
import { Sha256PassThrough } from '../files/sha256';
import { writeSidecar } from '../files/sidecar';
import { claimOrReclaim } from '../files/claim-name';
import type { LeftoverOptions } from '../files/leftovers';
import { recordPathFor, releaseRecord } from '../files/run-files';
import { expectSidecar, hashFile, sourceChanged, type CopyInput, type CopyOutput } from './copy-common';
import { baseOf, runRefOf } from './run-files';
import { throwIfCancelled, withHeartbeats } from './progress';

const STEP = 'copyToDirectory';

/**
 * `copyToDirectory`: the backup and its sidecar into BACKUP_COPY_DIR (e.g. a mounted NAS).
 * Written to `.part` (0600), fsynced, read back and hashed, then published without overwriting.
 * A retry finds a finished copy with the same checksum and only (re)writes the sidecar.
 */
export function makeCopyToDirectory(dir: string, cleanup: Omit<LeftoverOptions, 'run' | 'keepPublished'> = withoutTemporal()) {
  return async function copyToDirectory(input: CopyInput): Promise<CopyOutput> {
    await expectSidecar(input);
    await ensureCopyDir(dir);
    const name = path.basename(input.path);
    const dest = fileIn(dir, name);
    const bytes = (await fs.stat(input.path)).size;
    // The copy's partial files are recorded as this run's, so a crash or a cancel never leaves them behind unnoticed.
    const recordPath = recordPathFor(dir, baseOf(name));
    if (!(await claimOrReclaim(dir, recordPath, { ...runRefOf(), environment: '' }, { files: [`${name}.part`, `${name}.sha256.part`] }, cleanup))) {
      throw ApplicationFailure.retryable(`another run is copying ${name} into ${dir}`, 'CopyInProgress');
    }
    try {
      await copyOnce(input, dest, bytes);
    } finally {
      await releaseRecord(recordPath);
    }
    return { target: `dir:${dir}`, bytes, sha256: input.sha256 };
  };
}

async function copyOnce(input: CopyInput, dest: string, bytes: number): Promise<void> {
  if (await exists(dest)) {
    const existing = await hashFile(dest, STEP);
    if (existing.sha256 !== input.sha256) {
      throw ApplicationFailure.nonRetryable(`${dest} already exists with other contents (sha256 ${existing.sha256}); not overwriting it`, 'CopyExists');
    }
    log.info('copy already in place', { target: dest });
  } else {
    await writeVerified(input, dest, bytes);
  }
  await writeSidecar(dest, input.sha256);
}

/** Without a Temporal client (a copy run on its own) only crashed processes of this host are judged. */
function withoutTemporal(): Omit<LeftoverOptions, 'run' | 'keepPublished'> {
  return { namespace: '', runState: async () => 'unknown', dropDatabase: async () => undefined };
}

/**
 * Creates only the last path component (0700): if a NAS is not mounted, its mount point's parent
 * path must not silently become a directory on the local disk.
 */
async function ensureCopyDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: DIR_MODE }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    if (!(await fs.stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await fs.access(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const message = `copy directory ${dir} is not usable: ${code} (check BACKUP_COPY_DIR, that its parent exists or is mounted, and its permissions)`;
    // A missing parent (unmounted share) or an I/O hiccup may pass; permissions will not.
    if (['EACCES', 'EPERM', 'ENOTDIR', 'EROFS'].includes(code)) throw ApplicationFailure.nonRetryable(message, 'CopyDirUnusable');
    throw ApplicationFailure.retryable(message, 'CopyDirUnavailable');
  }
}

async function writeVerified(input: CopyInput, dest: string, total: number): Promise<void> {
  const { partPath, handle } = await openPart(dest);
  let published = false;
  try {
    const source = createReadStream(input.path, { highWaterMark: READ_CHUNK });
    const tap = new Sha256PassThrough();
    await withHeartbeats(
      () => ({ step: STEP, phase: 'write', bytes: source.bytesRead, total }),
      // flush: fsync before close, so the read-back below sees what is durable.
      pipeline(source, tap, handle.createWriteStream({ flush: true }), { signal: Context.current().cancellationSignal }).catch((err) => {
        throwIfCancelled();
        throw diskFailure(err, dest);
      }),
    );
    const read = tap.digest();
    if (read !== input.sha256) throw sourceChanged(input.path, input.sha256, read);

    const written = await hashFile(partPath, STEP);
    if (written.sha256 !== input.sha256 || written.bytes !== total) {
      throw ApplicationFailure.retryable(
        `the copy in ${path.dirname(dest)} does not match the backup after writing (sha256 ${written.sha256}, ${written.bytes} bytes): storage error, trying again`,
        'CopyCorrupted',
      );
    }
    await publishPart(partPath, dest);
    published = true;
    log.info('copied', { target: dest, bytes: total });
  } finally {
    if (!published) {
      await handle.close().catch(() => undefined);
      await removeQuietly(partPath);
    }
  }
}

function diskFailure(err: unknown, dest: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return ApplicationFailure.nonRetryable(`no space left in ${path.dirname(dest)} for the copy: ${code}`, 'CopyNoSpace');
  }
  return err;
}
