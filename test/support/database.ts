import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { inject } from 'vitest';
import { createDemoDatabase } from '../../src/dev/demo-database';
import { withDatabase } from '../../src/dev/postgres-cluster';

let counter = 0;
/** A fresh, uniquely named demo database on the test cluster; returns its URL (with password). */
export async function freshDemoDatabase(prefix: string, rows?: number): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${process.pid}_${++counter}`;
  const url = await createDemoDatabase(inject('pgAdminUrl'), name, { rows });
  return { name, url };
}

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** md5 of every table's rows in primary-key order: equal fingerprints mean equal contents. */
export async function tableFingerprints(url: string): Promise<Record<string, string>> {
  const tables = await sql<{ table_name: string }>(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  const out: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [row] = await sql<{ fp: string; n: string }>(
      url,
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS fp, count(*) AS n FROM ${pg.escapeIdentifier(table_name)} t`,
    );
    out[table_name] = `${row.n}:${row.fp}`;
  }
  return out;
}

/** Restores a .sql.gz the way an operator would: `gunzip -c file | psql`. */
export async function restoreWithPsql(file: string, targetName: string): Promise<string> {
  const admin = inject('pgAdminUrl');
  await sql(admin, `CREATE DATABASE ${pg.escapeIdentifier(targetName)}`);
  const url = withDatabase(admin, targetName);
  execFileSync('sh', ['-c', 'gunzip -c "$1" | psql -q -v ON_ERROR_STOP=1 -X "$2" > /dev/null', 'restore', file, url]);
  return url;
}
