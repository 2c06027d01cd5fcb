import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, inject, it } from 'vitest';
import { BATCH_ROWS, SHAPE_NAMES, isShapeName, loadShape, shapeTableSql, type ShapeName } from '../src/bench/shapes';
import { findPgBinDir, withDatabase } from '../src/dev/postgres-cluster';
import { sql } from './support/database';

const bin = findPgBinDir();
let counter = 0;

/** A fresh database on the test cluster filled with `shape`; returns its URL without password and the password apart. */
async function loaded(shape: ShapeName, scale: number, rows: number): Promise<{ url: string; env: NodeJS.ProcessEnv; fullUrl: string }> {
  const admin = inject('pgAdminUrl');
  const name = `shape_${shape}_${process.pid}_${++counter}`;
  await sql(admin, `CREATE DATABASE ${name}`);
  const fullUrl = withDatabase(admin, name);
  const u = new URL(fullUrl);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  u.password = '';
  await loadShape(shape, { scale, rows }, { bin, url: u.toString(), env });
  return { url: u.toString(), env, fullUrl };
}

function dump(target: { url: string; env: NodeJS.ProcessEnv }): Buffer {
  return execFileSync(`${bin}/pg_dump`, ['--format=plain', '--no-password', `--dbname=${target.url}`], { env: target.env, maxBuffer: 1 << 30 });
}

describe('bench data shapes', () => {
  it('knows its shapes by name', () => {
    expect(SHAPE_NAMES).toEqual(['pgbench', 'text', 'bytea']);
    expect(isShapeName('text')).toBe(true);
    expect(isShapeName('json')).toBe(false);
  });

  it('splits a table into seeded batches that cover every row once', () => {
    const { batches } = shapeTableSql('text', 2 * BATCH_ROWS + 1);
    expect(batches).toHaveLength(3);
    expect(batches[2]).toContain(`generate_series(${2 * BATCH_ROWS + 1}, ${2 * BATCH_ROWS + 1})`);
    expect(shapeTableSql('pgbench', 1000).batches).toEqual([]);
  });

  it('text: short rows that differ from row to row, the same bytes on every load, ~3–6× gzip', async () => {
    const rows = 3000;
    const a = await loaded('text', 0, rows);
    const b = await loaded('text', 0, rows);
    const [stats] = await sql<{ n: string; bodies: string; emails: string; avg: string }>(
      a.fullUrl,
      'SELECT count(*) AS n, count(DISTINCT body) AS bodies, count(DISTINCT email) AS emails, avg(length(t::text)) AS avg FROM bench_text t',
    );
    expect(Number(stats.n)).toBe(rows);
    // Per-row generation (not one value for the whole table, which an uncorrelated subquery would give).
    expect(Number(stats.bodies)).toBeGreaterThan(rows * 0.95);
    expect(Number(stats.emails)).toBeGreaterThan(rows * 0.5);
    expect(Number(stats.avg)).toBeGreaterThan(300);
    expect(Number(stats.avg)).toBeLessThan(600);
    const [doc] = await sql<{ doc: { lang: string; items: unknown[] } }>(a.fullUrl, 'SELECT doc FROM bench_text WHERE id = 7');
    expect(doc.doc.items.length).toBeGreaterThan(0);

    const dumpA = dump(a);
    // pg_dump writes a random \restrict key (PostgreSQL ≥ 15.14) and its versions: the rest must be equal.
    const sha = (x: Buffer) =>
      createHash('sha256')
        .update(x.toString('utf8').replace(/^(-- Dumped |\\(un)?restrict ).*$/gm, ''))
        .digest('hex');
    expect(sha(dump(b))).toBe(sha(dumpA));
    const ratio = dumpA.length / gzipSync(dumpA, { level: 6 }).length;
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(6);
  });

  it('bytea: incompressible and compressible binary, dumped as hex, ~6 KB of plain dump a row', async () => {
    const rows = 500;
    const t = await loaded('bytea', 0, rows);
    const [stats] = await sql<{ n: string; r: string; s: string; distinct: string }>(
      t.fullUrl,
      'SELECT count(*) AS n, sum(length(random_part)) AS r, sum(length(structured_part)) AS s, count(DISTINCT random_part) AS distinct FROM bench_blobs',
    );
    expect(Number(stats.n)).toBe(rows);
    expect(Number(stats.r)).toBe(rows * 1024);
    expect(Number(stats.s)).toBe(rows * 2048);
    expect(Number(stats.distinct)).toBe(rows);
    const [random] = await sql<{ random_part: Buffer; structured_part: Buffer }>(
      t.fullUrl,
      'SELECT random_part, structured_part FROM bench_blobs WHERE id = 3',
    );
    expect(gzipSync(random.random_part).length).toBeGreaterThan(1024);
    expect(gzipSync(random.structured_part).length).toBeLessThan(2048 / 2);
    const plain = dump(t);
    expect(plain.length / rows).toBeGreaterThan(6000);
    expect(plain.length / rows).toBeLessThan(6400);
  });

  it('pgbench: pgbench -i at the given scale, nothing else', async () => {
    const t = await loaded('pgbench', 1, 0);
    const tables = await sql<{ relname: string }>(
      t.fullUrl,
      "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 1",
    );
    expect(tables.map((r) => r.relname)).toEqual(['pgbench_accounts', 'pgbench_branches', 'pgbench_history', 'pgbench_tellers']);
    const [{ n }] = await sql<{ n: string }>(t.fullUrl, 'SELECT count(*) AS n FROM pgbench_accounts');
    expect(Number(n)).toBe(100_000);
  });
});
