import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DatabaseTarget } from '../config/database-url';
import { DumpFilterRefusal, DumpFilterStream, type CopyTable, type DumpFilterOptions, type DumpFilterReport } from './dump-filter';
import { LibpqError, type LibpqContext } from './libpq';
import { startPsqlLoad } from './psql-load';

export interface DumpLoadOptions {
  /** What to leave out of the dump (see DumpFilter); by default ownership and privileges. */
  filter?: DumpFilterOptions;
  /** SQL run inside the same transaction before the dump (e.g. the roles script of `restore --create-roles`). */
  prefix?: string;
  /** Runs after the last byte and before COMMIT; throwing rolls everything back. */
  beforeCommit?: () => Promise<void>;
  signal?: AbortSignal;
}

export interface CopiedTable {
  table: CopyTable;
  /** Rows the server loaded, from psql's own `COPY n` command tag. */
  rows: number;
}

export interface DumpLoadResult {
  report: DumpFilterReport;
  /** Every `COPY … FROM stdin` of the dump, in order, with the rows it loaded. */
  copied: CopiedTable[];
}

export interface DumpLoad {
  /** Write the plain SQL of a pg_dump here (the filter); ending it is what commits. */
  input: Writable;
  /** Resolves once committed; rejects with the cause when anything failed (nothing is committed then). */
  done: Promise<DumpLoadResult>;
}

/**
 * A plain pg_dump loaded through the dump filter into one transaction (startPsqlLoad: only an
 * explicit COMMIT after the whole input commits). Rows are counted from psql's `COPY n` tags,
 * paired in order with the COPY statements the filter let through: what the server loaded,
 * without a second scan — and without row-level security in the way, which would hide the rows
 * of a FORCE ROW LEVEL SECURITY table from its new owner's count(*).
 */
export function startDumpLoad(ctx: LibpqContext, target: DatabaseTarget, options: DumpLoadOptions = {}): DumpLoad {
  const load = startPsqlLoad(ctx, target, { stdout: 'pipe', signal: options.signal, beforeCommit: options.beforeCommit });
  const tags: number[] = [];
  const lines = createInterface({ input: load.psql.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const tag = /^COPY (\d+)$/.exec(line);
    if (tag) tags.push(Number(tag[1]));
  });
  const linesClosed = once(lines, 'close');

  const filter = new DumpFilterStream(options.filter);
  if (options.prefix) load.input.write(options.prefix);
  const piped = pipeline(filter, load.input);
  piped.catch(() => undefined); // judged in `done`

  const done = (async (): Promise<DumpLoadResult> => {
    const [flow, psql] = await Promise.allSettled([piped, load.done]);
    if (flow.status === 'rejected' || psql.status === 'rejected') throw firstCause(flow, psql);
    await linesClosed;
    const report = filter.report();
    if (tags.length !== report.copyTables.length) {
      throw new Error(`psql reported ${tags.length} COPY results for the ${report.copyTables.length} COPY statements of the dump`);
    }
    return { report, copied: report.copyTables.map((table, k) => ({ table, rows: tags[k] })) };
  })();
  done.catch(() => undefined); // observed by the caller
  return { input: filter, done };
}

/**
 * The failure to report: the filter's refusal, else psql's own error (an SQL error makes psql
 * exit, which also breaks the pipe into it), else whatever broke the input.
 */
function firstCause(flow: PromiseSettledResult<void>, psql: PromiseSettledResult<void>): unknown {
  const flowError = flow.status === 'rejected' ? (flow.reason as unknown) : undefined;
  const psqlError = psql.status === 'rejected' ? (psql.reason as unknown) : undefined;
  if (flowError instanceof DumpFilterRefusal) return flowError;
  if (psqlError instanceof LibpqError && psqlError.kind !== 'stopped') return psqlError;
  return flowError ?? psqlError;
}
