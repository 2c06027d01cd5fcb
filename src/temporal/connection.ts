import { Client, Connection } from '@temporalio/client';
import { normalizeGrpcEndpointAddress } from '@temporalio/common/lib/internal-non-workflow/parse-host-uri';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { ConfigError } from '../config/config-error';
import { isSet, secretValues, temporalEnvironment, type Env } from '../config/registry';
import { connectFailure, type TemporalTarget } from './connect-failure';
import { WatchedConnection } from './watched-connection';

const DEFAULT_ADDRESS = 'localhost:7233';
/** The SDK's own default for the first contact. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  /** The address of a dev server this process started: it replaces TEMPORAL_ADDRESS, and messages say so. */
  embeddedAddress?: string;
}

/**
 * Temporal connection settings named as Temporal's own tools name them: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the profile file
 * TEMPORAL_CONFIG_FILE, all read by @temporalio/envconfig. A malformed address is a
 * configuration error here, before any connection is tried.
 */
export function temporalConnectConfig(env: Env, options: ConnectOptions = {}) {
  const { connectionOptions, namespace: configured } = loadClientConnectConfig({ overrideEnvVars: temporalEnvironment(env) });
  const address = options.embeddedAddress ?? connectionOptions.address ?? DEFAULT_ADDRESS;
  const addressFrom = options.embeddedAddress
    ? 'the dev server started here'
    : isSet(env, 'TEMPORAL_ADDRESS')
      ? 'TEMPORAL_ADDRESS'
      : connectionOptions.address
        ? 'TEMPORAL_ADDRESS unset: from the Temporal config profile'
        : 'TEMPORAL_ADDRESS unset: the default';
  checkAddress(address, addressFrom);
  const namespace = configured ?? 'default';
  const target: TemporalTarget = { address, namespace, addressFrom, tls: Boolean(connectionOptions.tls), apiKey: Boolean(connectionOptions.apiKey) };
  return { connectionOptions: { ...connectionOptions, address }, namespace, target };
}

/** The SDK's own rule (host or host:port, no scheme), checked up front so that it stops the command with exit code 2. */
function checkAddress(address: string, addressFrom: string): void {
  let port: string | undefined;
  try {
    port = /:(\d+)$/.exec(normalizeGrpcEndpointAddress(address, 7233))?.[1];
  } catch {
    port = undefined;
  }
  if (port !== undefined && Number(port) >= 1 && Number(port) <= 65535) return;
  const variable = addressFrom.startsWith('TEMPORAL_ADDRESS unset') ? 'TEMPORAL_CONFIG_FILE' : 'TEMPORAL_ADDRESS';
  const where = variable === 'TEMPORAL_ADDRESS' ? '' : "the profile's address ";
  throw new ConfigError(variable, `${where}expected host or host:port (e.g. temporal.example.com:7233, no scheme), got ${JSON.stringify(address)}`);
}

/**
 * A client for the commands, connected as every other entry point is: TEMPORAL_* variables. A
 * failure says where it tried and why (TemporalUnreachable), at the first refusal rather than
 * after the SDK's 10 s.
 */
export async function connectClient(
  env: Env,
  options: ConnectOptions & { connectTimeoutMs?: number } = {},
): Promise<{ client: Client; connection: Connection; address: string; namespace: string; close(): Promise<void> }> {
  const { connectionOptions, namespace, target } = temporalConnectConfig(env, options);
  const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const connection = WatchedConnection.open({ ...connectionOptions, connectTimeout: timeoutMs });
  try {
    await connection.firstContact(timeoutMs);
    // Then the SDK's own check (GetSystemInfo): credentials and the server's answer.
    await connection.ensureConnected();
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw connectFailure(err, target, secretValues(env));
  }
  return { client: new Client({ connection, namespace }), connection, address: target.address, namespace, close: () => connection.close() };
}
