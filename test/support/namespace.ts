import { randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { waitFor } from './faults';

/**
 * A new namespace on the shared dev server: one with no custom search attributes (the server
 * registers the backups' in `default` only), as a real cluster has before anyone created them.
 * Ready once a visibility query in it answers (the server learns of new namespaces through a
 * cache that lags a few seconds).
 */
export async function freshNamespace(connection: Connection, prefix: string): Promise<string> {
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  const client = new Client({ connection, namespace });
  await waitFor(
    `namespace ${namespace} to be usable`,
    async () => {
      try {
        await client.workflow.count("WorkflowType = 'backupDatabase'");
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
        return false;
      }
    },
    60_000,
  );
  return namespace;
}
