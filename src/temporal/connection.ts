import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { temporalEnvironment, type Env } from '../config/registry';

/**
 * Temporal connection settings named as Temporal's own tools name them: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the profile file
 * TEMPORAL_CONFIG_FILE, all read by @temporalio/envconfig.
 */
export function temporalConnectConfig(env: Env) {
  const { connectionOptions, namespace } = loadClientConnectConfig({ overrideEnvVars: temporalEnvironment(env) });
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? 'localhost:7233' },
    namespace: namespace ?? 'default',
  };
}

/** A client for the commands, connected as every other entry point is: TEMPORAL_* variables. */
export async function connectClient(env: Env): Promise<{ client: Client; address: string; namespace: string; close(): Promise<void> }> {
  const { connectionOptions, namespace } = temporalConnectConfig(env);
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace }), address: connectionOptions.address, namespace, close: () => connection.close() };
}
