import { randomUUID } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { waitFor } from './faults';

/**
 * A new namespace on the shared dev server: one with no custom search attributes (the server
 * registers the backups' in `default` only), as a real cluster has before anyone created them.
 * Ready once a visibility query answers in it and a run can be started there (each of the
 * server's services learns of a new namespace through its own cache, which lags a few seconds).
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
        const probe = await client.workflow.start('namespaceProbe', { taskQueue: 'nobody-polls-this', workflowId: `probe-${randomUUID()}` });
        await probe.terminate('only a probe');
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
