import { Client, Connection } from '@temporalio/client';
import { temporalConnectConfig } from '../temporal-connection';

/** A client for the CLIs, connected as every other entry point is: TEMPORAL_* variables. */
export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<{ client: Client; address: string; close(): Promise<void> }> {
  const { connectionOptions, namespace } = temporalConnectConfig(env);
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace }), address: connectionOptions.address, close: () => connection.close() };
}
