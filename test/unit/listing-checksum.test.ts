import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSidecar } from '../../src/files/sidecar';
import { checkChecksum } from '../../src/listing/checksum';

describe("list's checksum column", () => {
  it('marks a backup it cannot read as MISMATCH with the reason, instead of failing the whole listing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-list-checksum-'));
    // Unreadable as a file even to root: a directory under a backup's name, with a sidecar beside it.
    const unreadable = path.join(dir, 'db_production_20251020_030000.sql.gz');
    fs.mkdirSync(unreadable);
    await writeSidecar(unreadable, 'a'.repeat(64));
    expect(await checkChecksum(unreadable)).toEqual({ status: 'MISMATCH', detail: 'cannot read the file: EISDIR' });
    fs.rmSync(dir, { recursive: true });
  });
});

describe('an empty listing', () => {
  it('says which label it looked for', async () => {
    const { formatListing } = await import('../../src/listing/format');
    const empty = { directory: '/backups', temporal: { reachable: false, address: 'x:1' }, backups: [], totalBytes: 0 };
    expect(formatListing(empty)).toBe('no backups in /backups');
    expect(formatListing(empty, 'staging')).toBe('no backups of label "staging" in /backups');
  });
});
