import { humanSize } from '../common/human-size';
import { formatAge } from '../freshness/state';
import type { BackupListing, ListedBackup } from './list';

const COLUMNS: Array<[string, (b: ListedBackup) => string]> = [
  ['LABEL', (b) => b.label],
  ['SIZE', (b) => b.size],
  ['AGE', (b) => formatAge(b.ageMs)],
  ['CHECKSUM', (b) => b.checksum],
  ['ROLES', (b) => (b.roles === null ? '-' : b.roles.checksum === 'skipped' ? 'yes' : b.roles.checksum === 'missing' ? 'unchecked' : b.roles.checksum)],
  ['VERIFIED', (b) => (b.verified === null ? 'unknown' : b.verified ? 'yes' : 'no')],
  ['COPIES', (b) => (b.copies === null ? 'unknown' : b.copies.join(', ') || '-')],
  ['FILE', (b) => b.fileName],
];

/** `npm run backups`: an aligned table, newest first, and a one-line summary. */
export function formatListing(listing: BackupListing, label?: string): string {
  if (listing.backups.length === 0) return `no backups${label ? ` of label "${label}"` : ''} in ${listing.directory}`;
  const rows = [COLUMNS.map(([title]) => title), ...listing.backups.map((b) => COLUMNS.map(([, cell]) => cell(b)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  const t = listing.temporal;
  const matched = listing.backups.filter((b) => b.run).length;
  lines.push(
    '',
    `${listing.backups.length} backup(s), ${humanSize(listing.totalBytes)} in ${listing.directory}`,
    t.reachable
      ? `Temporal ${t.address}: ${matched} of ${listing.backups.length} matched a completed backup run${matched < listing.backups.length ? ' (the others: VERIFIED and COPIES unknown, e.g. older than the namespace retention)' : ''}`
      : `${t.error}; VERIFIED and COPIES unknown`,
  );
  const bad = listing.backups.filter((b) => b.checksum === 'MISMATCH');
  for (const b of bad) lines.push(`MISMATCH ${b.fileName}: ${b.checksumDetail ?? 'sha256 differs from its .sha256 sidecar'}`);
  for (const b of listing.backups) {
    if (b.roles?.checksum === 'MISMATCH') lines.push(`MISMATCH ${b.roles.fileName}: ${b.roles.checksumDetail ?? 'sha256 differs from its .sha256 sidecar'}`);
  }
  return lines.join('\n');
}
