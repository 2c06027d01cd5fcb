import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { DatabaseTarget } from '../config';
import { BoundedText } from './pg-dump-errors';
import { psqlBeside, spawnLibpq } from './libpq-command';

/**
 * Exact row count of every user table, as one query: `schema.table|count` per line.
 * query_to_xml runs a count(*) per table inside the current transaction's snapshot.
 */
export const ROW_COUNTS_SQL = `SELECT format('%I.%I', n.nspname, c.relname) || '|' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1;`;

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
    this.send("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT 'snapshot=' || pg_export_snapshot();\n");
    const line = await this.nextLine((l) => l.startsWith('snapshot='));
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
