const UNITS = ['KB', 'MB', 'GB', 'TB'] as const;

/**
 * Sizes as the old job showed them: two decimals in binary units (1 MB = 1024 × 1024 bytes),
 * e.g. `15.32 MB`. Bytes below 1 KB are shown whole (`512 B`).
 */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(2)} ${UNITS[unit]}`;
}
