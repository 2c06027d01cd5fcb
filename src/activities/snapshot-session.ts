import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { DatabaseTarget } from '../config';
import { BoundedText } from './pg-dump-errors';
import { psqlBeside, spawnLibpq } from './libpq-command';

/**
 * Exact row count of every user table, as one query: `schema.table|count` per line.
 * query_to_xml runs a count(*) per table inside the current transaction's snapshot.
 */
const USER_TABLES = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')`;

export const ROW_COUNTS_SQL = `SELECT format('%I.%I', n.nspname, c.relname) || '|' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
${USER_TABLES}
ORDER BY 1;`;

/**
 * The counting session must behave like pg_dump's own: no role-level timeout may kill it, it
 * holds ACCESS SHARE on every table it will count (so a TRUNCATE or table rewrite, which is
 * not MVCC-safe, waits instead of emptying the table under the old snapshot), and the server
 * notices within a second when the session's client is gone (PostgreSQL 14+).
 */
const SESSION_SETUP_SQL = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SET LOCAL statement_timeout = 0;
SET LOCAL lock_timeout = 0;
SET LOCAL idle_in_transaction_session_timeout = 0;
SELECT set_config('transaction_timeout', '0', true) WHERE current_setting('server_version_num')::int >= 170000;
SELECT set_config('client_connection_check_interval', '1000', true) WHERE current_setting('server_version_num')::int >= 140000;
SELECT 'snapshot=' || pg_export_snapshot();
`;

const LOCK_TABLES_SQL = `DO $$DECLARE r record; BEGIN
  FOR r IN SELECT n.nspname, c.relname ${USER_TABLES} LOOP
    EXECUTE format('LOCK TABLE %I.%I IN ACCESS SHARE MODE', r.nspname, r.relname);
  END LOOP;
END$$;
`;

export type RowCounts = Record<string, number>;

export function parseRowCounts(lines: string[]): RowCounts {
  const counts: RowCounts = {};
  for (const line of lines) {
    const bar = line.lastIndexOf('|');
    if (bar > 0) counts[line.slice(0, bar)] = Number(line.slice(bar + 1));
  }
  return counts;
}

/**
 * A psql session holding a REPEATABLE READ transaction open: its exported snapshot is what
 * pg_dump dumps (`--snapshot`), and its row counts are the source as it was in that dump.
 */
export class SnapshotSession {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter?: () => void;
  private readonly stderr = new BoundedText();
  private readonly exited: Promise<number | null>;

  constructor(pgDumpPath: string, target: DatabaseTarget) {
    this.child = spawnLibpq(psqlBeside(pgDumpPath), ['-XAtq', '--no-password', '-v', 'ON_ERROR_STOP=1'], target, {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.stderr.append(chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('error', () => resolve(null));
      this.child.on('close', (code) => {
        resolve(code);
        this.waiter?.();
      });
    });
    this.child.stdin?.on('error', () => undefined); // psql gone: reported through exited
  }

  /** Starts the transaction and returns its exported snapshot id. */
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

  async close(): Promise<void> {
    this.send('COMMIT;\n');
    this.child.stdin?.end();
    await this.exited;
  }

  kill(): void {
    this.child.kill('SIGTERM');
  }

  /** What psql said on stderr (unredacted: the caller redacts). */
  errors(): string {
    return this.stderr.toString();
  }

  private send(text: string): void {
    if (this.child.stdin?.writable) this.child.stdin.write(text);
  }

  private async nextLine(match: (line: string) => boolean): Promise<string> {
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`psql session ended: ${this.stderr.toString().trim() || 'no message'}`);
      }
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
    }
  }
}
