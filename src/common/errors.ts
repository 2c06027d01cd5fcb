/** The last `cause` in the chain: what actually went wrong, not the wrappers around it. Pure: workflow code uses it too. */
export function innermostCause(err: unknown): unknown {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current;
}

/** The innermost cause's message, e.g. pg_dump's own words. */
export function innermostMessage(err: unknown): string {
  const inner = innermostCause(err);
  return inner instanceof Error ? inner.message : String(inner);
}
