import pg from 'pg';
import { withDatabase } from './postgres-cluster';

/**
 * A small database worth backing up: several tables, non-ASCII text, a few MB of rows.
 * Shared by `npm start` and the tests so both exercise the same shape of data.
 */
export async function createDemoDatabase(adminUrl: string, name: string, options: { rows?: number } = {}): Promise<string> {
  const rows = options.rows ?? 20_000;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, city text, created_at timestamptz NOT NULL DEFAULT '2025-10-20 03:00:00+00');
      CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(12,2), note text);
      CREATE TABLE reviews (id serial PRIMARY KEY, body text, tags text[], data jsonb);
      INSERT INTO customers (name, city)
        SELECT (ARRAY['Jürgen Müller','김민준','Zoë Ñúñez','山田太郎','Ольга','🙂 Emoji Ltd'])[1 + i % 6] || ' #' || i,
               (ARRAY['Seoul','München','São Paulo','Kraków','東京'])[1 + i % 5]
        FROM generate_series(1, ${Math.max(1, Math.floor(rows / 10))}) AS i;
      INSERT INTO orders (customer_id, total, note)
        SELECT 1 + i % ${Math.max(1, Math.floor(rows / 10))}, (i * 7.31)::numeric(12,2), md5(i::text) || ' — größe ' || repeat('x', i % 50)
        FROM generate_series(1, ${rows}) AS i;
      INSERT INTO reviews (body, tags, data)
        SELECT repeat('Très bien, 좋아요! ', 1 + i % 20), ARRAY['a', 'ß', '中'], jsonb_build_object('n', i, 'ok', i % 2 = 0)
        FROM generate_series(1, ${rows}) AS i;
    `);
  } finally {
    await db.end();
  }
  return url;
}
