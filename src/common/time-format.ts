/** `2025-10-21 03:04 Europe/Berlin`: local time first, as operators think in it. Pure (Intl only). */
export function localTime(instant: Date | string, timeZone: string): string {
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(instant));
  return `${local} ${timeZone}`;
}
