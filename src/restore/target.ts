import type { DatabaseTarget } from '../config';
import { psqlQuery } from './psql';

/** Ordinary and partitioned tables outside PostgreSQL's own schemas (and not owned by an extension). */
const USER_TABLES = `
  SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  ORDER BY 1, 2`;

/** Exact row counts, one query: query_to_xml runs a count(*) per table without a client-side loop. */
const ROW_COUNTS = `
  SELECT t.nspname, t.relname,
         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', t.nspname, t.relname), false, true, '')))[1]::text
  FROM (${USER_TABLES}) t`;

export interface TableRows {
  table: string;
  rows: number;
}

/** `schema.table` of every user table; also the first contact with the target (unreachable fails here). */
export async function userTables(psqlPath: string, target: DatabaseTarget): Promise<string[]> {
  const rows = await psqlQuery(psqlPath, target, USER_TABLES);
  return rows.map(([schema, table]) => `${schema}.${table}`);
}

export async function rowCounts(psqlPath: string, target: DatabaseTarget): Promise<TableRows[]> {
  const rows = await psqlQuery(psqlPath, target, ROW_COUNTS);
  return rows.map(([schema, table, n]) => ({ table: `${schema}.${table}`, rows: Number(n) }));
}
