import { readSidecar } from '../files/sidecar';
import { sha256File } from '../files/sha256';

export type ChecksumStatus = 'ok' | 'MISMATCH' | 'missing' | 'skipped';

/**
 * Recomputes the file's sha256 and compares it with its `.sha256` sidecar. A sidecar that is
 * unreadable, malformed or names another file counts as a mismatch: it does not vouch for this one.
 */
export async function checkChecksum(file: string): Promise<{ status: ChecksumStatus; sha256?: string; detail?: string }> {
  let expected: string | undefined;
  try {
    expected = await readSidecar(file);
  } catch (err) {
    return { status: 'MISMATCH', detail: (err as Error).message };
  }
  if (!expected) return { status: 'missing' };
  const { sha256 } = await sha256File(file);
  return sha256 === expected ? { status: 'ok', sha256 } : { status: 'MISMATCH', sha256, detail: `sidecar says ${expected}` };
}
