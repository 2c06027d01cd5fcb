/**
 * The compressors a backup may be written with, and the suffix each gives the file:
 * `<base>.sql.gz` (gzip, the default: what the old job wrote) or `<base>.sql.zst` (zstd).
 * Encryption appends `.age`. Pure: names only, shared by the workflow's activities, the
 * listing, retention, restore and the cleanup of what runs leave.
 */
export const COMPRESSIONS = ['gzip', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const SUFFIXES: Record<Compression, string> = { gzip: '.gz', zstd: '.zst' };

/** `.gz` or `.zst`: what compress appends to `<base>.sql`. */
export function compressedSuffix(compression: Compression): string {
  return SUFFIXES[compression];
}

/** A regular-expression fragment matching `.sql.gz` and `.sql.zst` (no groups that capture). */
export const COMPRESSED_SQL = String.raw`\.sql\.(?:gz|zst)`;

/** The compression of a backup file by its name (`….sql.gz`, `….sql.zst.age`, also with `.part`); undefined for other names. */
export function compressionOfName(name: string): Compression | undefined {
  const m = /\.sql\.(gz|zst)(?:\.age)?(?:\.part)?$/.exec(name);
  if (!m) return undefined;
  return m[1] === 'gz' ? 'gzip' : 'zstd';
}
