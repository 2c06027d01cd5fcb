import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { withDatabase } from '../../src/dev/postgres-cluster';

/**
 * A database that looks like the ones people back up, not like a demo: partitions (with a
 * default partition), inheritance, unlogged tables, a materialized view, large objects owned
 * by different roles, sequences and an identity far from 1, generated columns, the trusted
 * contrib extensions hstore and citext, non-ASCII and quoted identifiers, row-level security
 * (one table with FORCE), objects owned by two roles, grants to others (table, column and
 * default privileges), a publication, and rows whose text looks like SQL and like COPY's
 * end-of-data marker.
 *
 * Roles are cluster-global, so every name carries `prefix` and every call makes its own set.
 * The roles mirror what people run: two owners, a reader, a group role the reader belongs to,
 * and `backup_ro` (LOGIN CREATEDB + pg_read_all_data, owning nothing) with a BYPASSRLS twin.
 */
export interface LoginRole {
  name: string;
  password: string;
  /** URL of the field database as this role (with password). */
  url: string;
}

export interface FieldRoles {
  /** Owns the database, schema `app` and most objects. */
  appOwner: LoginRole;
  /** Owns schema "ä" and the billing objects. */
  billingOwner: LoginRole;
  /** Granted SELECT here and there, named in a policy, member of `auditors`. */
  reader: LoginRole;
  /** NOLOGIN group role holding column privileges; `reader` is a member. */
  auditors: string;
  /** LOGIN CREATEDB, member of pg_read_all_data, owns nothing, no BYPASSRLS. */
  backupRo: LoginRole;
  /** As backupRo, plus BYPASSRLS (what the RLS case needs). */
  backupRoBypassRls: LoginRole;
  /** An ETL login with BYPASSRLS and REPLICATION, a list-valued setting and a comment, granted SELECT on app.orders. */
  etl: LoginRole;
}

export interface FieldDatabase {
  name: string;
  /** Superuser URL of the field database. */
  url: string;
  roles: FieldRoles;
  /** Every role this call created, for cleanup and assertions. */
  roleNames: string[];
  /** Rows per table as created (user tables only, `schema.table` as format('%I.%I')). */
  rowCounts: Record<string, number>;
  /** Drops the database, any database the roles still own (scratch leftovers), then the roles. */
  cleanup(): Promise<void>;
}

export interface FieldDatabaseOptions {
  /** Lower-case letters, digits and underscores; every role and the database start with it. */
  prefix: string;
  /** Multiplies the row counts; 1 gives a dump of a few MB. */
  scale?: number;
  /** Also create pg_stat_statements (untrusted: only a superuser may create it). */
  untrustedExtension?: boolean;
  /** Also create an event trigger (superuser-only object). */
  eventTrigger?: boolean;
  /** FORCE ROW LEVEL SECURITY on "ä".invoices (default true): then even its owner cannot dump it without BYPASSRLS. */
  forceRowSecurity?: boolean;
}

/** A column whose quoted name holds a newline: pg_dump's COPY header spans two lines. */
const NEWLINE_COLUMN = '"zeile\numbruch"';

export async function createFieldDatabase(adminUrl: string, options: FieldDatabaseOptions): Promise<FieldDatabase> {
  const { prefix } = options;
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(prefix)) throw new Error(`prefix must be a short lower-case identifier, got ${JSON.stringify(prefix)}`);
  const scale = options.scale ?? 1;
  const name = `${prefix}_field`;
  const login = (role: string): LoginRole => {
    const password = randomBytes(12).toString('hex');
    const url = new URL(withDatabase(adminUrl, name));
    url.username = role;
    url.password = password;
    return { name: role, password, url: url.toString() };
  };
  const roles: FieldRoles = {
    appOwner: login(`${prefix}_app_owner`),
    billingOwner: login(`${prefix}_billing_owner`),
    reader: login(`${prefix}_reader`),
    auditors: `${prefix}_auditors`,
    backupRo: login(`${prefix}_backup_ro`),
    backupRoBypassRls: login(`${prefix}_backup_rls`),
    etl: login(`${prefix}_etl`),
  };
  const roleNames = [
    roles.appOwner.name,
    roles.billingOwner.name,
    roles.reader.name,
    roles.auditors,
    roles.backupRo.name,
    roles.backupRoBypassRls.name,
    roles.etl.name,
  ];
  const id = pg.escapeIdentifier;
  const lit = pg.escapeLiteral;
  const { appOwner, billingOwner, reader, backupRo, backupRoBypassRls, etl } = roles;
  const app = id(appOwner.name);
  const billing = id(billingOwner.name);
  const rd = id(reader.name);
  const aud = id(roles.auditors);

  await withClient(adminUrl, async (admin) => {
    await admin.query(`
      CREATE ROLE ${app} LOGIN PASSWORD ${lit(appOwner.password)};
      CREATE ROLE ${billing} LOGIN PASSWORD ${lit(billingOwner.password)} CONNECTION LIMIT 20;
      CREATE ROLE ${aud} NOLOGIN;
      CREATE ROLE ${rd} LOGIN PASSWORD ${lit(reader.password)} IN ROLE ${aud} VALID UNTIL '2099-01-01';
      CREATE ROLE ${id(backupRo.name)} LOGIN CREATEDB PASSWORD ${lit(backupRo.password)};
      CREATE ROLE ${id(backupRoBypassRls.name)} LOGIN CREATEDB BYPASSRLS PASSWORD ${lit(backupRoBypassRls.password)};
      GRANT pg_read_all_data TO ${id(backupRo.name)}, ${id(backupRoBypassRls.name)};
      CREATE ROLE ${id(etl.name)} LOGIN BYPASSRLS REPLICATION PASSWORD ${lit(etl.password)};
      ALTER ROLE ${id(etl.name)} SET search_path = "$user", app, "ä";
      COMMENT ON ROLE ${id(etl.name)} IS 'nightly export; it''s "quoted"';
      -- app_owner (the migrations role) holds billing_owner's privileges too: "the owner" of the whole database.
      GRANT ${billing} TO ${app} WITH ADMIN OPTION;
      ALTER ROLE ${rd} SET statement_timeout = '5min';
    `);
    await admin.query(`CREATE DATABASE ${id(name)} OWNER ${app} TEMPLATE template0 ENCODING 'UTF8'`);
  });

  const url = withDatabase(adminUrl, name);
  const rows = {
    customers: 5_000 * scale,
    orders: 20_000 * scale,
    measurements: 24_000 * scale,
    invoices: 3_000 * scale,
    docs: 2_000 * scale,
  };
  let rowCounts: Record<string, number>;
  try {
    await withClient(url, async (db) => {
      // As superuser: things only a superuser (or the database owner) may do, then hand over.
      await db.query(`
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        CREATE SCHEMA app AUTHORIZATION ${app};
        CREATE SCHEMA "ä" AUTHORIZATION ${billing};
        GRANT USAGE ON SCHEMA app TO ${rd}, ${billing}, ${aud};
        GRANT CREATE ON SCHEMA public TO ${app};
        ${options.untrustedExtension ? 'CREATE EXTENSION pg_stat_statements;' : ''}
      `);

      // --- app_owner's world: extensions (trusted: the database owner may create them), types, tables.
      await db.query(`SET ROLE ${app}`);
      await db.query(`
        CREATE EXTENSION hstore;
        CREATE EXTENSION citext;
        CREATE TYPE app.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
        CREATE DOMAIN app.email AS citext CHECK (VALUE ~ '^[^@]+@[^@]+$');
        CREATE TYPE app.money_pair AS (amount numeric(12,2), currency char(3));

        CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          -- a comment with a quote ' and a semicolon; inside a dollar-quoted body
          NEW.updated_at := '2025-10-20 03:00:00+00'::timestamptz;
          RETURN NEW;
        END
        $fn$;
        CREATE FUNCTION app.net_cents(gross bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
        BEGIN ATOMIC
          SELECT CASE WHEN gross > 0 THEN gross * 100 / 119 ELSE 0 END;
        END;
        REVOKE EXECUTE ON FUNCTION app.net_cents(bigint) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION app.net_cents(bigint) TO ${rd};

        CREATE TABLE app.customers (
          id bigint GENERATED ALWAYS AS IDENTITY (START WITH 5000000000) PRIMARY KEY,
          name text NOT NULL,
          email app.email,
          attrs hstore,
          "Kunde; Name" text,
          ${NEWLINE_COLUMN} text,
          updated_at timestamptz
        );
        COMMENT ON TABLE app.customers IS 'Kunden; it''s "quoted" -- not a comment /* nor this */ $x$ neither';
        CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch();
        CREATE SEQUENCE app.order_no START WITH 900000000000;
        CREATE TABLE app.orders (
          id bigserial PRIMARY KEY,
          order_no bigint NOT NULL DEFAULT nextval('app.order_no'),
          customer_id bigint REFERENCES app.customers(id),
          status app.order_status NOT NULL DEFAULT 'new',
          qty int NOT NULL,
          unit_cents bigint NOT NULL,
          total_cents bigint GENERATED ALWAYS AS (qty * unit_cents) STORED,
          note text,
          search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(note, ''))) STORED
        );
        CREATE INDEX orders_search ON app.orders USING gin (search);
        CREATE TABLE app.measurements (id bigint NOT NULL, taken_at date NOT NULL, value double precision, tags hstore)
          PARTITION BY RANGE (taken_at);
        CREATE TABLE app.measurements_2024 PARTITION OF app.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE app.measurements_2025 PARTITION OF app.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE app.measurements_default PARTITION OF app.measurements DEFAULT;
        CREATE TABLE app.vehicles (id serial PRIMARY KEY, make text NOT NULL);
        CREATE TABLE app.cars (seats int NOT NULL DEFAULT 5) INHERITS (app.vehicles);
        CREATE UNLOGGED TABLE app.sessions (token text PRIMARY KEY, data jsonb);
        CREATE TABLE app.tenant_doc (id serial PRIMARY KEY, tenant text NOT NULL, body text);
        ALTER TABLE app.tenant_doc ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON app.tenant_doc USING (tenant = current_setting('app.tenant', true));
        CREATE POLICY reader_sees_public ON app.tenant_doc FOR SELECT TO ${rd} USING (tenant = 'public');
        CREATE TABLE public.looks_like_sql (id serial PRIMARY KEY, line text);
        CREATE VIEW app.open_orders AS SELECT id, customer_id, total_cents FROM app.orders WHERE status IN ('new', 'paid');
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO ${rd};
        ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
        GRANT SELECT ON app.customers, app.orders, app.open_orders TO ${rd};
        GRANT SELECT (id, name), UPDATE ("Kunde; Name") ON app.customers TO ${aud};
        GRANT INSERT, UPDATE ON app.orders TO ${billing};
        GRANT SELECT ON app.orders TO ${id(etl.name)};
        GRANT SELECT ON app.tenant_doc TO ${rd} WITH GRANT OPTION;
        GRANT USAGE ON SEQUENCE app.order_no TO ${billing};
        CREATE PUBLICATION ${id(`${prefix}_orders_pub`)} FOR TABLE app.orders;

        INSERT INTO app.customers (name, email, attrs, "Kunde; Name",  ${NEWLINE_COLUMN})
          SELECT (ARRAY['Jürgen Müller','김민준','Zoë Ñúñez','山田太郎','O''Brien; DROP TABLE x','🙂 Emoji'])[1 + i % 6] || ' #' || i,
                 'user' || i || '@example.org',
                 hstore(ARRAY['tier', 'since'], ARRAY[(i % 3)::text, (2000 + i % 25)::text]),
                 E'semi;colon "dq" \\\\ backslash',
                 E'tab\\there\\nnew line'
          FROM generate_series(1, ${rows.customers}) i;
        INSERT INTO app.orders (customer_id, status, qty, unit_cents, note)
          SELECT 5000000000 + (i % ${rows.customers}), (ARRAY['new','paid','shipped','cancelled'])[1 + i % 4]::app.order_status,
                 1 + i % 7, 199 + i % 1000, md5(i::text) || ' größe ' || repeat('x', i % 40)
          FROM generate_series(1, ${rows.orders}) i;
        SELECT setval('app.order_no', 912345678901);
        INSERT INTO app.measurements (id, taken_at, value, tags)
          SELECT i, date '2024-06-01' + (i % 700), i * 0.25, hstore('k', (i % 10)::text)
          FROM generate_series(1, ${rows.measurements}) i;
        INSERT INTO app.vehicles (make) SELECT 'make ' || i FROM generate_series(1, 50) i;
        INSERT INTO app.cars (make, seats) SELECT 'car ' || i, 2 + i % 6 FROM generate_series(1, 40) i;
        INSERT INTO app.sessions SELECT 'tok' || i, jsonb_build_object('i', i) FROM generate_series(1, 100) i;
        INSERT INTO app.tenant_doc (tenant, body)
          SELECT (ARRAY['acme', 'globex', 'public'])[1 + i % 3], 'doc ' || i || repeat(' lorem', 20) FROM generate_series(1, ${rows.docs}) i;
        -- Values whose COPY lines look like statements, comments, quotes, or like COPY's own end marker.
        INSERT INTO public.looks_like_sql (line) VALUES
          ('ALTER TABLE app.customers OWNER TO nobody;'), ('GRANT ALL ON app.orders TO PUBLIC;'),
          ('REVOKE ALL ON SCHEMA app FROM PUBLIC;'), ('SET SESSION AUTHORIZATION nobody;'),
          (E'\\\\.'), (E'x\\n\\\\.\\ny'), ('\\.'), ('-- not a comment'), ('/* not a comment'), ($q$it's 'quoted'$q$),
          ('$$ not a dollar quote'), ('"not an identifier'), ('COPY x FROM stdin;'), (E'\\r\\n'), ('ä ö ü ß € 😀');
        CREATE MATERIALIZED VIEW app.customer_totals AS
          SELECT customer_id, count(*) AS orders, sum(total_cents) AS cents FROM app.orders GROUP BY customer_id;
        GRANT SELECT ON app.customer_totals TO ${rd};
        SELECT lo_from_bytea(0, convert_to(repeat('app_owner large object ', 2000), 'UTF8'));
      `);
      await db.query('RESET ROLE');

      // A grant by a role that does not own the table: pg_dump writes it under SET SESSION AUTHORIZATION.
      await db.query(`SET ROLE ${rd}; GRANT SELECT ON app.tenant_doc TO ${id(etl.name)}; RESET ROLE;`);

      // --- billing_owner's world, under schema "ä".
      await db.query(`SET ROLE ${billing}`);
      await db.query(`
        CREATE SEQUENCE "ä"."Rechnungsnummer" START WITH 20250000000 INCREMENT BY 7;
        CREATE TABLE "ä"."Bestellungen 2025" (
          "Nr" bigint PRIMARY KEY DEFAULT nextval('"ä"."Rechnungsnummer"'),
          "Kunde" bigint,
          "Betrag (€)" numeric(12,2),
          "Größe" text,
          "Notiz" text
        );
        CREATE TABLE "ä".invoices (id serial PRIMARY KEY, tenant text NOT NULL, amount_cents bigint, paid boolean DEFAULT false);
        ALTER TABLE "ä".invoices ENABLE ROW LEVEL SECURITY;
        ${options.forceRowSecurity === false ? '' : 'ALTER TABLE "ä".invoices FORCE ROW LEVEL SECURITY;'}
        CREATE POLICY invoices_tenant ON "ä".invoices USING (tenant = current_setting('app.tenant', true));
        CREATE POLICY invoices_owner_all ON "ä".invoices TO ${billing} USING (true) WITH CHECK (true);
        GRANT USAGE ON SCHEMA "ä" TO ${rd};
        GRANT SELECT ON "ä"."Bestellungen 2025" TO ${rd};
        GRANT SELECT ("Nr", "Betrag (€)") ON "ä"."Bestellungen 2025" TO ${aud};
        ALTER DEFAULT PRIVILEGES IN SCHEMA "ä" GRANT SELECT ON TABLES TO ${aud};
        INSERT INTO "ä"."Bestellungen 2025" ("Kunde", "Betrag (€)", "Größe", "Notiz")
          SELECT 5000000000 + i, i * 1.5, (ARRAY['S','M','L','XL'])[1 + i % 4], E'Grüße\\tund\\tTabs; "zitat" ''apostroph'''
          FROM generate_series(1, ${rows.invoices}) i;
        INSERT INTO "ä".invoices (tenant, amount_cents, paid)
          SELECT (ARRAY['acme', 'globex'])[1 + i % 2], i * 100, i % 3 = 0 FROM generate_series(1, ${rows.invoices}) i;
        SELECT lo_from_bytea(0, convert_to(repeat('billing large object ', 500), 'UTF8'));
      `);
      const [{ oid: billingLo }] = (await db.query<{ oid: string }>(`SELECT lo_from_bytea(0, '\\x00ff5c2e0a27223b'::bytea)::text AS oid`)).rows;
      await db.query(`GRANT SELECT ON LARGE OBJECT ${billingLo} TO ${rd}`);
      await db.query('RESET ROLE');

      // Owned by the superuser: a large object and a table, as happens when someone ran a fix by hand.
      const [{ oid: superLo }] = (await db.query<{ oid: string }>(`SELECT lo_from_bytea(0, convert_to('superuser large object', 'UTF8'))::text AS oid`)).rows;
      await db.query(`
        GRANT SELECT ON LARGE OBJECT ${superLo} TO ${app};
        CREATE TABLE public.admin_notes (id int PRIMARY KEY, note text);
        INSERT INTO public.admin_notes VALUES (1, 'created by the superuser');
        GRANT SELECT ON public.admin_notes TO ${app};
        ${
          options.eventTrigger
            ? `CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN NULL; END $$;
        CREATE EVENT TRIGGER ${id(`${prefix}_log_ddl`)} ON ddl_command_end EXECUTE FUNCTION public.log_ddl();`
            : ''
        }
        ANALYZE;
      `);
    });

    rowCounts = await withClient(url, async (db) => {
      const result = await db.query<{ t: string; n: string }>(`
        SELECT format('%I.%I', n.nspname, c.relname) AS t,
               (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text AS n
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`);
      return Object.fromEntries(result.rows.map((r) => [r.t, Number(r.n)]));
    });
  } catch (err) {
    await dropFieldDatabase(adminUrl, name, roleNames).catch(() => undefined);
    throw err;
  }

  return {
    name,
    url,
    roles,
    roleNames,
    rowCounts,
    cleanup: () => dropFieldDatabase(adminUrl, name, roleNames),
  };
}

/** Drops `database`, every database owned by `roles` (scratch leftovers), what they own elsewhere, then the roles. */
export async function dropFieldDatabase(adminUrl: string, database: string, roles: string[]): Promise<void> {
  await withClient(adminUrl, async (admin) => {
    const owned = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1 OR pg_get_userbyid(datdba) = ANY($2::text[])', [
      database,
      roles,
    ]);
    for (const { datname } of owned.rows) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    const existing = (await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])', [roles])).rows.map(
      (r) => r.rolname,
    );
    if (!existing.length) return;
    // Grants and objects in other databases would block DROP ROLE: clean each database the roles touch.
    const databases = (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn')).rows.map((r) => r.datname);
    const list = existing.map(pg.escapeIdentifier).join(', ');
    for (const datname of databases) {
      await withClient(withDatabase(adminUrl, datname), (db) => db.query(`DROP OWNED BY ${list} CASCADE`));
    }
    for (const role of existing) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  });
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * What a restore must bring back, for comparing a copy with its source: every table's rows
 * (count and md5 of the sorted rows, ONLY the table itself), every sequence's position, and
 * every large object's content.
 */
export async function contentsOf(url: string): Promise<Record<string, string>> {
  return withClient(url, async (db) => {
    const out: Record<string, string> = {};
    const tables = await db.query<{
      t: string;
    }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`);
    for (const { t } of tables.rows) {
      const r = await db.query<{ n: string; h: string }>(
        `SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h FROM ONLY ${t} x`,
      );
      out[`table ${t}`] = `${r.rows[0].n} rows ${r.rows[0].h}`;
    }
    const sequences = await db.query<{ s: string; v: string }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS s, coalesce(last_value::text, 'unused') AS v FROM pg_sequences ORDER BY 1`,
    );
    for (const { s, v } of sequences.rows) out[`sequence ${s}`] = v;
    const largeObjects = await db.query<{ o: string; h: string }>('SELECT oid::text AS o, md5(lo_get(oid)) AS h FROM pg_largeobject_metadata ORDER BY oid');
    for (const { o, h } of largeObjects.rows) out[`large object ${o}`] = h;
    return out;
  });
}

/**
 * Who owns what and who may do what: owners and ACLs of schemas, relations, columns,
 * functions, types and large objects, default privileges, policy roles, publication owners.
 * (Not the database's or extensions' owners: a plain dump carries neither.)
 */
export async function ownershipOf(url: string): Promise<Record<string, string>> {
  return withClient(url, async (db) => {
    const { rows } = await db.query<{ k: string; v: string }>(`
      WITH user_schemas AS (SELECT oid, nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_')
      SELECT 'schema ' || quote_ident(nspname) AS k, pg_get_userbyid(nspowner) || ' ' || coalesce(nspacl::text, '') AS v FROM pg_namespace WHERE oid IN (SELECT oid FROM user_schemas)
      UNION ALL SELECT 'relation ' || c.oid::regclass::text, pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, '')
        FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM user_schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      UNION ALL SELECT 'column ' || a.attrelid::regclass::text || '.' || quote_ident(a.attname), a.attacl::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid WHERE a.attacl IS NOT NULL AND c.relnamespace IN (SELECT oid FROM user_schemas)
      UNION ALL SELECT 'function ' || p.oid::regprocedure::text, pg_get_userbyid(p.proowner) || ' ' || coalesce(p.proacl::text, '')
        FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM user_schemas) AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
      UNION ALL SELECT 'type ' || t.oid::regtype::text, pg_get_userbyid(t.typowner) || ' ' || coalesce(t.typacl::text, '')
        FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM user_schemas) AND t.typrelid = 0 AND t.typcategory <> 'A'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
      UNION ALL SELECT 'large object ' || oid::text, pg_get_userbyid(lomowner) || ' ' || coalesce(lomacl::text, '') FROM pg_largeobject_metadata
      UNION ALL SELECT 'default privileges ' || pg_get_userbyid(defaclrole) || ' ' || coalesce(defaclnamespace::regnamespace::text, '-') || ' ' || defaclobjtype::text,
        defaclacl::text FROM pg_default_acl
      UNION ALL SELECT 'policy ' || polrelid::regclass::text || ' ' || quote_ident(polname),
        array(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END FROM unnest(polroles) r ORDER BY 1)::text FROM pg_policy
      UNION ALL SELECT 'publication ' || quote_ident(pubname), pg_get_userbyid(pubowner) FROM pg_publication
      ORDER BY 1`);
    return Object.fromEntries(rows.map((r) => [r.k, r.v]));
  });
}
