import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DumpFilter, DumpFilterStream, type DumpFilterOptions } from '../../src/postgres/dump-filter';
import { parseCopyFromStdin } from '../../src/postgres/sql-statement';

/** A dump as pieces: kept text, and `drop(…)` for what the filter must leave out (with its newline). */
const drop = (text: string) => ({ drop: text });
type Piece = string | { drop: string };

const PIECES: Piece[] = [
  '--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\n',
  "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n",
  "SELECT pg_catalog.set_config('search_path', '', false);\n\n",
  drop('SET SESSION AUTHORIZATION app_owner;\n'),
  'CREATE SCHEMA "ä";\n\n',
  drop('ALTER SCHEMA "ä" OWNER TO "billing Owner";\n'),
  'CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\n',
  'CREATE EXTENSION "uuid-ossp";\n',
  "COMMENT ON EXTENSION hstore IS 'data type for storing sets of (key, value) pairs';\n",
  // Quotes holding what would be statement ends, comments and dollar signs.
  "COMMENT ON TABLE public.t IS 'it''s; GRANT ALL ON t TO x; -- /* $$';\n",
  "COMMENT ON COLUMN public.t.c IS E'back\\\\slash \\' quote; REVOKE ALL ON t FROM y; ''';\n",
  'CREATE TABLE "ä"."Bestellungen 2025" (\n    "Nr" bigint,\n    "a;\nGRANT x TO y;" text,\n    "Betrag (€)" numeric\n);\n\n',
  drop('ALTER TABLE "ä"."Bestellungen 2025" OWNER TO billing_owner;\n'),
  'ALTER SEQUENCE public.s OWNED BY public.t.id;\n',
  // Not only a change of owner: kept, so a missing role fails loudly instead of losing the column.
  'ALTER TABLE public.t ADD COLUMN extra int, OWNER TO someone;\n',
  'ALTER TABLE public.t RENAME TO "x OWNER TO y";\n',
  'CREATE FUNCTION public.f() RETURNS text LANGUAGE plpgsql AS $fn$\nBEGIN\n  -- GRANT; \' "\n  RETURN $$;GRANT$$ || $q$ $fn $q$;\nEND\n$fn$;\n\n',
  drop('ALTER FUNCTION public.f() OWNER TO app_owner;\n'),
  'CREATE FUNCTION public.g(a integer) RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n SELECT CASE WHEN (a > 0) THEN 1 ELSE 0 END AS "case";\n SELECT 2;\nEND;\n',
  drop('REVOKE ALL ON FUNCTION public.g(a integer) FROM PUBLIC;\n'),
  drop('GRANT ALL ON FUNCTION public.g(a integer) TO reader;\n'),
  '/* a block /* nested; GRANT */ comment; */\n',
  'CREATE RULE r AS\n    ON INSERT TO public.t DO INSTEAD ( INSERT INTO public.u (a) VALUES (new.a);\n DELETE FROM public.v WHERE (v.a = new.a);\n);\n',
  "CREATE VIEW public.v2 AS\n SELECT $1x, 1.5e3 AS n, B'101' AS b, X'ff' AS x, U&\"d\\0061t\\+000061\" AS u, U&'\\0041' AS s, \"end\" FROM public.t;\n",
  "SELECT pg_catalog.lo_create('16400');\n",
  drop('ALTER LARGE OBJECT 16400 OWNER TO app_owner;\n'),
  // COPY data: lines that look like statements, quotes, comments and markers, never touched.
  'COPY "ä"."Bestellungen 2025" ("Nr", "a;\nGRANT x TO y;", "Betrag (€)") FROM stdin;\n',
  '1\tGRANT ALL ON t TO x;\t1.00\n2\tALTER TABLE t OWNER TO x;\t2\n3\t\'unterminated\t\\N\n4\t"\t$$\n5\t/* open\t--\n6\t\\\\.\t\\.x\n7\tSET SESSION AUTHORIZATION x;\t\\r\\n\n\\.\n\n',
  'COPY public.empty (a) FROM stdin;\n\\.\n',
  'COPY public.crlf (a) FROM stdin;\nrow\r\n\\.\r\n',
  drop('GRANT SELECT ON TABLE "ä"."Bestellungen 2025" TO reader;\n'),
  drop('GRANT SELECT("Betrag (€)") ON TABLE "ä"."Bestellungen 2025" TO auditors;\n'),
  drop('GRANT SELECT ON LARGE OBJECT 16400 TO reader;\n'),
  drop('ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT SELECT ON TABLES  TO reader;\n'),
  "SELECT pg_catalog.lo_open('16400', 131072);\nSELECT pg_catalog.lowrite(0, '\\x00ff275c2e0a');\nSELECT pg_catalog.lo_close(0);\n",
  "SECURITY LABEL FOR selinux ON TABLE public.t IS 'system_u:object_r:sepgsql_table_t:s0';\n",
  // With standard_conforming_strings off, a backslash escapes the quote in a plain string.
  "SET standard_conforming_strings = off;\nCOMMENT ON TABLE public.t IS 'a\\'; GRANT ALL ON t TO x; \\\\';\n",
  drop('RESET SESSION AUTHORIZATION;\n'),
  "SET standard_conforming_strings = 'on';\n",
  drop('REVOKE ALL ON SCHEMA public FROM PUBLIC;\n'),
  '\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n',
];

const INPUT = Buffer.from(PIECES.map((p) => (typeof p === 'string' ? p : p.drop)).join(''));
const EXPECTED = PIECES.filter((p): p is string => typeof p === 'string').join('');

const NONE_SKIPPED = {
  owner: 0,
  'large-object-owner': 0,
  grant: 0,
  revoke: 0,
  'default-privileges': 0,
  'session-authorization': 0,
  'security-label': 0,
  publication: 0,
  subscription: 0,
  'event-trigger': 0,
  'extension-comment': 0,
  'missing-role': 0,
};

function filterChunks(chunks: Buffer[], options?: DumpFilterOptions) {
  const filter = new DumpFilter(options);
  const out: Buffer[] = [];
  for (const chunk of chunks) filter.write(chunk, (b) => out.push(Buffer.from(b)));
  filter.end((b) => out.push(Buffer.from(b)));
  return { output: Buffer.concat(out).toString('utf8'), report: filter.summary() };
}

function splitAt(input: Buffer, cuts: number[]): Buffer[] {
  const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), input.length];
  return points.slice(1).map((end, k) => input.subarray(points[k], end));
}

/** A small deterministic PRNG, so a failing split can be reproduced. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('dump filter', () => {
  it('drops ownership and privilege statements, keeps everything else byte for byte, and reports what it did', () => {
    const { output, report } = filterChunks([INPUT]);
    expect(output).toBe(EXPECTED);
    expect(report.skipped).toEqual({
      ...NONE_SKIPPED,
      owner: 3,
      'large-object-owner': 1,
      grant: 4,
      revoke: 2,
      'default-privileges': 1,
      'session-authorization': 2,
    });
    expect(report.examples).toEqual([
      'SET SESSION AUTHORIZATION app_owner;',
      'ALTER SCHEMA "ä" OWNER TO "billing Owner";',
      'ALTER TABLE "ä"."Bestellungen 2025" OWNER TO billing_owner;',
      'ALTER FUNCTION public.f() OWNER TO app_owner;',
      'REVOKE ALL ON FUNCTION public.g(a integer) FROM PUBLIC;',
    ]);
    expect(report.copyTables).toEqual([
      { schema: 'ä', name: 'Bestellungen 2025', written: '"ä"."Bestellungen 2025"' },
      { schema: 'public', name: 'empty', written: 'public.empty' },
      { schema: 'public', name: 'crlf', written: 'public.crlf' },
    ]);
    expect(report.extensions).toEqual(['hstore', 'uuid-ossp']);
  });

  it('gives the same output and report however the input is split: every 2-way split, 1-byte chunks, random chunks', () => {
    const whole = filterChunks([INPUT]);
    for (let cut = 1; cut < INPUT.length; cut++) {
      const split = filterChunks(splitAt(INPUT, [cut]));
      if (split.output !== whole.output) throw new Error(`split at byte ${cut} changed the output`);
      expect(split.report).toEqual(whole.report);
    }
    expect(filterChunks(splitAt(INPUT, [...Array(INPUT.length).keys()]))).toEqual(whole);
    const next = random(42);
    for (let round = 0; round < 300; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * INPUT.length));
      const split = filterChunks(splitAt(INPUT, cuts));
      if (split.output !== whole.output) throw new Error(`cuts ${JSON.stringify(cuts)} changed the output`);
      expect(split.report).toEqual(whole.report);
    }
  });

  it('skips security labels only when asked to', () => {
    const { output, report } = filterChunks([INPUT], { securityLabels: 'drop' });
    expect(output).toBe(EXPECTED.replace(/SECURITY LABEL[^\n]*\n/, ''));
    expect(report.skipped['security-label']).toBe(1);
  });

  it('never looks inside COPY data: rows that look like statements pass, and the statement after the data is lexed again', () => {
    const rows = ['GRANT ALL ON t TO x;', 'ALTER TABLE t OWNER TO x;', "'", '"', '$$', '/*', '\\\\.', '\\.x', 'x\\.', ' \\.'];
    const dump = `COPY t (a) FROM stdin;\n${rows.join('\n')}\n\\.\nGRANT ALL ON t TO x;\nSELECT 1;\n`;
    expect(filterChunks([Buffer.from(dump)]).output).toBe(`COPY t (a) FROM stdin;\n${rows.join('\n')}\n\\.\nSELECT 1;\n`);
  });

  it('passes bytes that are not valid UTF-8 inside COPY data and strings unchanged', () => {
    const bytes = Buffer.concat([
      Buffer.from('COPY t (a) FROM stdin;\n'),
      Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x0a]),
      Buffer.from("\\.\nCOMMENT ON TABLE t IS '"),
      Buffer.from([0xe2, 0x82]),
      Buffer.from("';\n"),
    ]);
    const out: Buffer[] = [];
    const filter = new DumpFilter();
    for (let k = 0; k < bytes.length; k++) filter.write(bytes.subarray(k, k + 1), (b) => out.push(Buffer.from(b)));
    filter.end((b) => out.push(Buffer.from(b)));
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it('decides an unterminated last statement like any other, and passes an unterminated COPY block', () => {
    expect(filterChunks([Buffer.from('SELECT 1;\nGRANT ALL ON t TO x')]).output).toBe('SELECT 1;\n');
    expect(filterChunks([Buffer.from('SELECT 1;\nCREATE TABLE t (a int')]).output).toBe('SELECT 1;\nCREATE TABLE t (a int');
    expect(filterChunks([Buffer.from('COPY t (a) FROM stdin;\n1\n2\n')]).output).toBe('COPY t (a) FROM stdin;\n1\n2\n');
  });

  it('lets statements too long to hold flow through, and still drops a long GRANT by its first words', () => {
    const big = 'x'.repeat(3 << 20);
    const dump = `COMMENT ON TABLE t IS '${big}';\nGRANT SELECT ON TABLE t TO ${'r'.repeat(10)}, "${'y'.repeat(2 << 20)}";\nSELECT 1;\n`;
    const chunks = splitAt(
      Buffer.from(dump),
      Array.from({ length: 200 }, (_, k) => k * 40_000),
    );
    const { output, report } = filterChunks(chunks);
    expect(output).toBe(`COMMENT ON TABLE t IS '${big}';\nSELECT 1;\n`);
    expect(report.skipped.grant).toBe(1);
    expect(report.examples[0]).toMatch(/^GRANT SELECT ON TABLE t TO r{10}, "y+…$/);
    expect(report.examples[0].length).toBe(120);
  });

  it('drops only ownership (--no-owner) or only privileges (--no-privileges) when asked', () => {
    const noOwner = filterChunks([INPUT], { privileges: 'keep' });
    expect(noOwner.report.skipped).toEqual({ ...NONE_SKIPPED, owner: 3, 'large-object-owner': 1, 'session-authorization': 2 });
    expect(noOwner.output).toContain('GRANT SELECT ON LARGE OBJECT 16400 TO reader;\n');
    expect(noOwner.output).not.toContain('OWNER TO billing_owner;');
    const noPrivileges = filterChunks([INPUT], { ownership: 'keep' });
    expect(noPrivileges.report.skipped).toEqual({ ...NONE_SKIPPED, grant: 4, revoke: 2, 'default-privileges': 1 });
    expect(noPrivileges.output).toContain('ALTER LARGE OBJECT 16400 OWNER TO app_owner;\nCOPY');
    expect(noPrivileges.output).toContain('SET SESSION AUTHORIZATION app_owner;\n');
    expect(filterChunks([INPUT], { ownership: 'keep', privileges: 'keep' }).output).toBe(INPUT.toString('utf8'));
  });

  it('for verification, skips publications, subscriptions, event triggers and comments on extensions, and nothing like them', () => {
    const dump = [
      "CREATE PUBLICATION orders_pub WITH (publish = 'insert, update, delete, truncate');\n",
      'ALTER PUBLICATION orders_pub OWNER TO app_owner;\n',
      'ALTER PUBLICATION orders_pub ADD TABLE ONLY app.orders;\n',
      "COMMENT ON PUBLICATION orders_pub IS 'to the warehouse';\n",
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false, slot_name = 's');\n",
      'CREATE EVENT TRIGGER log_ddl ON ddl_command_end\n   EXECUTE FUNCTION public.log_ddl();\n',
      "COMMENT ON EVENT TRIGGER log_ddl IS 'audit';\n",
      "COMMENT ON EXTENSION hstore IS 'data type for storing sets of (key, value) pairs';\n",
    ].join('');
    const kept = [
      'CREATE FUNCTION public.log_ddl() RETURNS event_trigger\n    LANGUAGE plpgsql\n    AS $$ BEGIN NULL; END $$;\n',
      "COMMENT ON TABLE public.publication IS 'CREATE PUBLICATION x;';\n",
      'CREATE TABLE public.subscription (id int);\n',
    ].join('');
    const { output, report } = filterChunks([Buffer.from(kept + dump)], { superuserObjects: 'drop' });
    expect(output).toBe(kept);
    expect(report.skipped).toEqual({ ...NONE_SKIPPED, publication: 4, subscription: 1, 'event-trigger': 2, 'extension-comment': 1 });
    expect(report.superuserObjects).toEqual(['publication orders_pub', 'subscription s', 'event trigger log_ddl']);
    expect(filterChunks([Buffer.from(kept + dump)]).output).toBe(kept + dump.replace('ALTER PUBLICATION orders_pub OWNER TO app_owner;\n', ''));
  });

  it('given the roles that exist, skips the privileges and permissive policies that name others, says which, and stops at a restrictive one', () => {
    const dump = [
      'GRANT SELECT ON TABLE app.orders TO reader;\n',
      'GRANT SELECT ON TABLE app.orders TO "Gone Role", reader;\n',
      'GRANT SELECT(id, "to") ON TABLE app.customers TO auditors;\n',
      'REVOKE ALL ON SCHEMA public FROM PUBLIC;\n',
      'REVOKE ALL ON TABLE app.orders FROM gone;\n',
      'ALTER DEFAULT PRIVILEGES FOR ROLE gone IN SCHEMA app GRANT SELECT ON TABLES TO reader;\n',
      'ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA app GRANT SELECT ON TABLES TO reader;\n',
      "CREATE POLICY tenant ON app.doc USING ((tenant = current_setting('app.tenant'::text, true)));\n",
      "CREATE POLICY reader_sees ON app.doc FOR SELECT TO reader, gone USING ((tenant = 'public'::text));\n",
      'CREATE POLICY to_public ON app.doc TO PUBLIC WITH CHECK (true);\n',
      'GRANT ALL ON TABLE app.orders TO reader WITH GRANT OPTION GRANTED BY gone;\n',
    ];
    const existing = new Set(['reader', 'auditors', 'app_owner']);
    const { output, report } = filterChunks([Buffer.from(dump.join(''))], { ownership: 'drop', privileges: 'keep', existingRoles: existing });
    expect(output).toBe([dump[0], dump[2], dump[3], dump[6], dump[7], dump[9]].join(''));
    expect(report.skipped).toEqual({ ...NONE_SKIPPED, 'missing-role': 5 });
    expect(report.namingMissingRoles).toEqual([
      { statement: 'GRANT SELECT ON TABLE app.orders TO "Gone Role", reader;', roles: ['Gone Role'] },
      { statement: 'REVOKE ALL ON TABLE app.orders FROM gone;', roles: ['gone'] },
      { statement: 'ALTER DEFAULT PRIVILEGES FOR ROLE gone IN SCHEMA app GRANT SELECT ON TABLES TO reader;', roles: ['gone'] },
      { statement: "CREATE POLICY reader_sees ON app.doc FOR SELECT TO reader, gone USING ((tenant = 'public'::text));", roles: ['gone'] },
      { statement: 'GRANT ALL ON TABLE app.orders TO reader WITH GRANT OPTION GRANTED BY gone;', roles: ['gone'] },
    ]);
    const restrictive = "CREATE POLICY only_acme ON app.doc AS RESTRICTIVE TO gone USING ((tenant = 'acme'::text));\n";
    expect(() => filterChunks([Buffer.from(restrictive)], { existingRoles: existing, privileges: 'keep' })).toThrow(
      /^a RESTRICTIVE policy names a role the target lacks \(gone\): leaving it out would widen access, so the restore stops here: create the roles first \(--create-roles\) — CREATE POLICY only_acme/,
    );
  });

  it('works as a Transform in a pipeline', async () => {
    const filter = new DumpFilterStream();
    const out: Buffer[] = [];
    const chunks = splitAt(INPUT, [10, 100, 1000, 2000]);
    await pipeline(
      Readable.from(chunks),
      filter,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    expect(Buffer.concat(out).toString('utf8')).toBe(EXPECTED);
    expect(filter.report().copyTables.map((t) => t.name)).toEqual(['Bestellungen 2025', 'empty', 'crlf']);
  });

  it('reads the table of a COPY statement as stored, however it is quoted', () => {
    expect(parseCopyFromStdin('COPY public.orders (id, note) FROM stdin;')).toEqual({ schema: 'public', name: 'orders', written: 'public.orders' });
    expect(parseCopyFromStdin('COPY "we""ird"."a.b" ("x)", y) FROM stdin;')).toEqual({ schema: 'we"ird', name: 'a.b', written: '"we""ird"."a.b"' });
    expect(parseCopyFromStdin('COPY Mixed FROM STDIN;')).toEqual({ name: 'mixed', written: 'Mixed' });
    expect(parseCopyFromStdin('COPY t TO stdout;')).toBeUndefined();
    expect(parseCopyFromStdin("COPY t FROM '/tmp/file';")).toBeUndefined();
  });
});
