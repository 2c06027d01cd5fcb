import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeSearchAttributeProblems } from '../src/common/search-attributes';
import { ensureSearchAttributes, registeredSearchAttributes, searchAttributeProblemsOf, unknownToVisibility } from '../src/temporal/search-attributes';
import { freshNamespace } from './support/namespace';

/**
 * Creating and checking search attributes on a real dev server, in a namespace of their own:
 * SQL visibility has room for only a few attributes of each type per namespace, and `default`
 * holds the backups' own.
 */
describe('search attributes on a real Temporal server', () => {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8);
  const label = defineSearchAttributeKey(`PgbwTestLabel${suffix}`, 'KEYWORD');
  const size = defineSearchAttributeKey(`PgbwTestSize${suffix}`, 'INT');
  let connection: Connection;
  let client: Client;
  let namespace: string;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    namespace = await freshNamespace(connection, 'pgbw-sa');
    client = new Client({ connection, namespace });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('creates the missing ones once, after which runs can carry them at once', async () => {
    const start = () =>
      client.workflow.start('noSuchWorkflow', {
        taskQueue: `nobody-${suffix}`,
        workflowId: `sa-${randomUUID()}`,
        typedSearchAttributes: [
          { key: label, value: 'production' },
          { key: size, value: 42 },
        ],
      });
    // The client's "Failed to start Workflow" wraps the server's reason (it names whichever unknown attribute it met first).
    await expect(start()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/no mapping defined for search attribute PgbwTest(Label|Size)/) } });
    expect((await unknownToVisibility(client, [label, size])).map((k) => k.name)).toEqual([label.name, size.name]);

    expect(await ensureSearchAttributes(connection, namespace, [label, size])).toEqual({
      created: [label.name, size.name],
      problems: { missing: [], conflicting: [] },
    });
    expect(await registeredSearchAttributes(connection, namespace)).toMatchObject({ [label.name]: 'KEYWORD', [size.name]: 'INT' });
    expect(await ensureSearchAttributes(connection, namespace, [label, size])).toEqual({ created: [], problems: { missing: [], conflicting: [] } });
    expect(await unknownToVisibility(client, [label, size])).toEqual([]);

    const handle = await start();
    await handle.terminate('nothing runs it');
    const listed: string[] = [];
    for await (const w of client.workflow.list({ query: `${label.name} = 'production' AND ${size.name} = 42` })) listed.push(w.workflowId);
    expect(listed).toEqual([handle.workflowId]);
  });

  it('reports an attribute registered with another type, and leaves it as it is', async () => {
    const asInt = defineSearchAttributeKey(`PgbwTestVerified${suffix}`, 'INT');
    const asBool = defineSearchAttributeKey(asInt.name, 'BOOL');
    await ensureSearchAttributes(connection, namespace, [asInt]);
    const outcome = await ensureSearchAttributes(connection, namespace, [asBool]);
    expect(outcome).toEqual({ created: [], problems: { missing: [], conflicting: [{ key: asBool, registeredType: 'INT' }] } });
    expect(describeSearchAttributeProblems(outcome.problems, namespace)).toContain(`${asInt.name} exists in "${namespace}" as Int, but backups need Bool`);
    expect((await registeredSearchAttributes(connection, namespace))[asInt.name]).toBe('INT');
  });

  it("lets a worker's native connection check what is missing, with the command that fixes it", async () => {
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const missing = defineSearchAttributeKey(`PgbwTestMissing${suffix}`, 'BOOL');
      await ensureSearchAttributes(connection, namespace, [label]);
      const problems = await searchAttributeProblemsOf(new Client({ connection: native }), namespace, [label, missing]);
      expect(problems).toEqual({ missing: [missing], conflicting: [] });
      expect(describeSearchAttributeProblems(problems, namespace)).toContain(
        `temporal operator search-attribute create --namespace ${namespace} --name ${missing.name} --type Bool`,
      );
    } finally {
      await native.close();
    }
  });
});
