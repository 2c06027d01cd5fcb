import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeSearchAttributeProblems } from '../src/common/search-attributes';
import { ensureSearchAttributes, registeredSearchAttributes, searchAttributeProblemsOf, unknownToVisibility } from '../src/temporal/search-attributes';

/**
 * Creating and checking search attributes on a real dev server. Names are fresh for each run
 * (attributes cannot be removed from SQL visibility), so the shared server's own set is left alone.
 */
describe('search attributes on a real Temporal server', () => {
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8);
  const label = defineSearchAttributeKey(`PgbwTestLabel${suffix}`, 'KEYWORD');
  const size = defineSearchAttributeKey(`PgbwTestSize${suffix}`, 'INT');
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
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
    // The client's "Failed to start Workflow" wraps the server's reason.
    await expect(start()).rejects.toMatchObject({ cause: { message: expect.stringMatching(/no mapping defined for search attribute PgbwTestLabel/) } });
    expect((await unknownToVisibility(client, [label, size])).map((k) => k.name)).toEqual([label.name, size.name]);

    expect(await ensureSearchAttributes(connection, 'default', [label, size])).toEqual({
      created: [label.name, size.name],
      problems: { missing: [], conflicting: [] },
    });
    expect(await registeredSearchAttributes(connection, 'default')).toMatchObject({ [label.name]: 'KEYWORD', [size.name]: 'INT' });
    expect(await ensureSearchAttributes(connection, 'default', [label, size])).toEqual({ created: [], problems: { missing: [], conflicting: [] } });
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
    await ensureSearchAttributes(connection, 'default', [asInt]);
    const outcome = await ensureSearchAttributes(connection, 'default', [asBool]);
    expect(outcome).toEqual({ created: [], problems: { missing: [], conflicting: [{ key: asBool, registeredType: 'INT' }] } });
    expect(describeSearchAttributeProblems(outcome.problems, 'default')).toContain(`${asInt.name} exists in "default" as Int, but backups need Bool`);
    expect((await registeredSearchAttributes(connection, 'default'))[asInt.name]).toBe('INT');
  });

  it("lets a worker's native connection check what is missing, with the command that fixes it", async () => {
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const missing = defineSearchAttributeKey(`PgbwTestMissing${suffix}`, 'BOOL');
      await ensureSearchAttributes(connection, 'default', [label]);
      const problems = await searchAttributeProblemsOf(new Client({ connection: native }), 'default', [label, missing]);
      expect(problems).toEqual({ missing: [missing], conflicting: [] });
      expect(describeSearchAttributeProblems(problems, 'default')).toContain(
        `temporal operator search-attribute create --namespace default --name ${missing.name} --type Bool`,
      );
    } finally {
      await native.close();
    }
  });
});
