import type { DatabaseTarget } from '../config/database-url';
import { withDatabaseName } from '../config/database-url';
import { psqlRows, type LibpqContext } from './libpq';

/**
 * The template of a verification's scratch database. template0 is clean and nobody can be
 * connected to it, so it is the default. When template1 holds extensions (beyond plpgsql),
 * someone installed them there so scratch databases would have them — the way to verify a
 * dump using an untrusted extension without a superuser — and template1 is used. A template1
 * that cannot be read counts as holding none.
 */
export async function scratchTemplate(ctx: LibpqContext, server: DatabaseTarget, signal?: AbortSignal): Promise<'template0' | 'template1'> {
  try {
    const rows = await psqlRows(ctx, withDatabaseName(server, 'template1'), "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'", {
      timeoutMs: 30_000,
      signal,
    });
    return Number(rows[0]?.[0]) > 0 ? 'template1' : 'template0';
  } catch {
    return 'template0';
  }
}
