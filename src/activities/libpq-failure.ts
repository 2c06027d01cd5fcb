import { ApplicationFailure } from '@temporalio/activity';
import { LibpqError } from '../postgres/libpq';

/**
 * A libpq program's failure as Temporal sees it: retryable or not as the failure's kind says,
 * typed `<Program><Kind>` (e.g. `PgDumpAuthentication`) so the Web UI and alerts can tell them
 * apart. `context` prefixes the message (`verification failed: …`).
 */
export function libpqActivityFailure(err: unknown, context = ''): unknown {
  if (!(err instanceof LibpqError)) return err;
  const type = `${pascal(err.program)}${pascal(err.kind)}`;
  const message = `${context}${err.message}`;
  return err.retryable ? ApplicationFailure.retryable(message, type) : ApplicationFailure.nonRetryable(message, type);
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
