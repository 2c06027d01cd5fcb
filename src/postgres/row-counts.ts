import type { DatabaseTarget } from '../config/database-url';
import { copyTableKey, tableKey, type CopyTable } from './sql-statement';
import { psqlRows, type LibpqContext } from './libpq';

/** `schema.table` → rows, keyed as pg_dump names tables (identifiers quoted only where needed). */
export type RowCounts = Record<string, number>;

/**
 * User relations of the given kinds: outside PostgreSQL's own schemas and not members of an
 * extension (their contents are the extension's business).
 */
function userRelations(kinds: string): string {
  return `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN (${kinds}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;
}

/** The tables whose rows a backup carries (ordinary tables; a partitioned table's rows live in its partitions). */
export const TABLES_WITH_ROWS = userRelations("'r'");

/**
 * Exact row count of every such table, one `schema.table|count` line each; query_to_xml runs a
 * count(*) per table in the current snapshot. `FROM ONLY`: pg_dump copies each table of an
 * inheritance tree by itself, so a parent counts its own rows, not its children's.
 */
export const ROW_COUNTS_SQL = `SELECT format('%I.%I', n.nspname, c.relname) || '|' ||
  (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
${TABLES_WITH_ROWS}
ORDER BY 1;`;

export function parseRowCounts(lines: string[]): RowCounts {
  const counts: RowCounts = {};
  for (const line of lines) {
    const bar = line.lastIndexOf('|');
    if (bar > 0) counts[line.slice(0, bar)] = Number(line.slice(bar + 1));
  }
  return counts;
}

/** Large objects in the current snapshot, one `large-objects=<n>` line. */
export const LARGE_OBJECTS_SQL = `SELECT 'large-objects=' || count(*) FROM pg_catalog.pg_largeobject_metadata;`;

/**
 * What a load restored, keyed like `expected` (the source's counts): each source table's rows
 * from its COPY tag. Tables the source did not count (the configuration tables of extensions,
 * whose rows pg_dump filters) are not compared; a source table without a COPY stays missing.
 */
export function restoredRowCounts(expected: RowCounts, copied: ReadonlyArray<{ table: CopyTable; rows: number }>): RowCounts {
  const loaded = new Map<string, number>();
  for (const { table, rows } of copied) loaded.set(copyTableKey(table), (loaded.get(copyTableKey(table)) ?? 0) + rows);
  const restored: RowCounts = {};
  for (const table of Object.keys(expected)) {
    const rows = loaded.get(tableKey(table));
    if (rows !== undefined) restored[table] = rows;
  }
  return restored;
}

/** Each table whose count differs, in words; empty when they all match. */
export function rowCountDifferences(expected: RowCounts, actual: RowCounts): string[] {
  const differences: string[] = [];
  for (const table of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[table] !== actual[table]) {
      differences.push(`${table}: ${expected[table] ?? 'missing'} rows in the source, ${actual[table] ?? 'missing'} restored`);
    }
  }
  return differences;
}

export interface TableRows {
  table: string;
  rows: number;
}

const TABLES_AND_PARTITIONED = `SELECT n.nspname, c.relname ${userRelations("'r', 'p'")} ORDER BY 1, 2`;

/** `schema.table` of every user table, partitioned ones included; also a first contact with the database (unreachable fails here). */
export async function userTables(ctx: LibpqContext, target: DatabaseTarget): Promise<string[]> {
  return (await psqlRows(ctx, target, TABLES_AND_PARTITIONED)).map(([schema, table]) => `${schema}.${table}`);
}

/** Every user table's row count, as a restore reports them. */
export async function tableRowCounts(ctx: LibpqContext, target: DatabaseTarget): Promise<TableRows[]> {
  const rows = await psqlRows(
    ctx,
    target,
    `SELECT t.nspname, t.relname,
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', t.nspname, t.relname), false, true, '')))[1]::text
     FROM (${TABLES_AND_PARTITIONED}) t`,
  );
  return rows.map(([schema, table, n]) => ({ table: `${schema}.${table}`, rows: Number(n) }));
}
