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
  let sha256: string;
  try {
    ({ sha256 } = await sha256File(file));
  } catch (err) {
    // One unreadable backup is that backup's problem: the listing goes on, and exits 1 for it.
    return { status: 'MISMATCH', detail: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return sha256 === expected ? { status: 'ok', sha256 } : { status: 'MISMATCH', sha256, detail: `sidecar says ${expected}` };
}
