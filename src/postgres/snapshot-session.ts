import { createInterface } from 'node:readline';
import type { DatabaseTarget } from '../config/database-url';
import { runLibpq, type LibpqContext, type LibpqExit, type LibpqProcess } from './libpq';
import { LARGE_OBJECTS_SQL, ROW_COUNTS_SQL, TABLES_WITH_ROWS, parseRowCounts, type RowCounts } from './row-counts';

/**
 * The counting session must behave like pg_dump's own: no role-level timeout may kill it, it
 * holds ACCESS SHARE on every table it will count (so a TRUNCATE or table rewrite, which is
 * not MVCC-safe, waits instead of emptying the table under the old snapshot), the server
 * notices within a second when the session's client is gone (PostgreSQL 14+), and row-level
 * security makes a count fail instead of quietly leaving rows out (as pg_dump runs).
 */
const SESSION_SETUP_SQL = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET LOCAL row_security = off;
SET LOCAL statement_timeout = 0;
SET LOCAL lock_timeout = 0;
SET LOCAL idle_in_transaction_session_timeout = 0;
SELECT set_config('transaction_timeout', '0', true) WHERE current_setting('server_version_num')::int >= 170000;
SELECT set_config('client_connection_check_interval', '1000', true) WHERE current_setting('server_version_num')::int >= 140000;
SELECT 'snapshot=' || pg_export_snapshot();
`;

const LOCK_TABLES_SQL = `DO $$DECLARE r record; BEGIN
  FOR r IN SELECT n.nspname, c.relname ${TABLES_WITH_ROWS} LOOP
    EXECUTE format('LOCK TABLE %I.%I IN ACCESS SHARE MODE', r.nspname, r.relname);
  END LOOP;
END$$;
`;

/**
 * A psql session holding a REPEATABLE READ transaction open: its exported snapshot is what
 * pg_dump dumps (`--snapshot`), and its row counts are the source as it was in that dump.
 */
export class SnapshotSession {
  private readonly psql: LibpqProcess;
  private readonly lines: string[] = [];
  private waiter?: () => void;
  private exit?: LibpqExit;

  constructor(ctx: LibpqContext, target: DatabaseTarget, signal?: AbortSignal) {
    this.psql = runLibpq(ctx, 'psql', { args: ['-XAtq', '--no-password', '-v', 'ON_ERROR_STOP=1'], target, stdin: 'pipe', stdout: 'pipe', signal });
    createInterface({ input: this.psql.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    void this.psql.exited.then((exit) => {
      this.exit = exit;
      this.waiter?.();
    });
  }

  /** Starts the transaction and returns its exported snapshot id; rejects with the session's LibpqError if it cannot. */
  async exportSnapshot(): Promise<string> {
    this.send(SESSION_SETUP_SQL);
    const line = await this.nextLine((l) => l.startsWith('snapshot='));
    this.send(LOCK_TABLES_SQL); // at once: the window for a TRUNCATE stays as small as pg_dump's own
    return line.slice('snapshot='.length);
  }

  /** Row counts in the exported snapshot (runs while pg_dump works). */
  async rowCounts(): Promise<RowCounts> {
    const start = this.lines.length;
    this.send(`${ROW_COUNTS_SQL}\nSELECT 'counts-done';\n`);
    await this.nextLine((l) => l === 'counts-done');
    return parseRowCounts(this.lines.slice(start, -1));
  }

  /** Large objects in the exported snapshot. */
  async largeObjectCount(): Promise<number> {
    this.send(`${LARGE_OBJECTS_SQL}\n`);
    const line = await this.nextLine((l) => l.startsWith('large-objects='));
    return Number(line.slice('large-objects='.length));
  }

  async close(): Promise<void> {
    this.send('COMMIT;\n');
    this.psql.stdin.end();
    await this.psql.exited;
  }

  /** Ends the session now (pg_dump has what it needs, or the attempt is over). */
  kill(): void {
    this.psql.stop();
  }

  /** Settles once psql is gone. */
  get exited(): Promise<unknown> {
    return this.psql.exited;
  }

  private send(text: string): void {
    if (this.psql.stdin.writable) this.psql.stdin.write(text);
  }

  private async nextLine(match: (line: string) => boolean): Promise<string> {
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      // A session that ended before answering failed, whatever its exit code.
      if (this.exit) throw this.psql.failure(this.exit);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}
