/**
 * The environment label ("production", "development", ...) is the workflow's only input and
 * becomes part of a file name, so it is restricted to characters that can never form a path.
 * Pure module: imported by workflow code and by activities alike.
 */
export const LABEL_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Returns why `label` is not acceptable, or undefined when it is. */
export function labelProblem(label: unknown): string | undefined {
  if (typeof label !== 'string') {
    return `environment label must be a string like "production", got ${typeof label}`;
  }
  if (LABEL_PATTERN.test(label)) return undefined;
  const shown = JSON.stringify(label.length > 80 ? `${label.slice(0, 80)}…` : label);
  return `invalid environment label ${shown}: use 1 to 64 characters from A-Z a-z 0-9 _ -`;
}

/** DATABASE_URL_<ENV>: the label upper-cased, with '-' as '_' (environment variable names allow no '-'). */
export function databaseUrlVariableFor(label: string): string {
  return `DATABASE_URL_${label.toUpperCase().replace(/-/g, '_')}`;
}
