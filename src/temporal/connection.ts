import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { isPort } from '../common/port';
import { ConfigError } from '../config/config-error';
import { redact } from '../config/redact';
import { isSet, secretValues, temporalEnvironment, type Env } from '../config/registry';
import { ConnectTimeout, connectFailure, type TemporalTarget } from './connect-failure';
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
  const { connectionOptions, namespace: configured } = loadProfile(env);
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
  return { connectionOptions: { ...connectionOptions, address }, namespace, target, secrets: [...secretValues(env), ...connectionSecrets(connectionOptions)] };
}

type ProfileOptions = ReturnType<typeof loadClientConnectConfig>['connectionOptions'];

/** envconfig's reading of TEMPORAL_* and the profile file; what it refuses is a configuration error naming the setting. */
function loadProfile(env: Env): ReturnType<typeof loadClientConnectConfig> {
  try {
    return loadClientConnectConfig({ overrideEnvVars: temporalEnvironment(env) });
  } catch (err) {
    const message = redact((err as Error).message, secretValues(env));
    const given = temporalEnvironment(env);
    const named = Object.entries(given).find(([name, value]) => /_PATH$|_FILE$/.test(name) && value && message.includes(value))?.[0];
    const variable = named ?? (given.TEMPORAL_PROFILE ? 'TEMPORAL_PROFILE' : given.TEMPORAL_CONFIG_FILE ? 'TEMPORAL_CONFIG_FILE' : 'TEMPORAL_*');
    throw new ConfigError(variable, message);
  }
}

/**
 * What a connection failure must never print, from wherever it came (the environment or the
 * profile file): the API key, gRPC metadata values (often auth headers), a client key's data.
 */
function connectionSecrets(options: ProfileOptions): string[] {
  const out: string[] = [];
  if (typeof options.apiKey === 'string') out.push(options.apiKey);
  for (const value of Object.values(options.metadata ?? {})) if (typeof value === 'string') out.push(value);
  const tls = typeof options.tls === 'object' ? options.tls : undefined;
  if (tls?.clientCertPair?.key) out.push(tls.clientCertPair.key.toString());
  // Each line too: a message may quote only the first line of a multi-line value.
  return [...out, ...out.flatMap((value) => value.split('\n').map((line) => line.trim()))].filter((value) => value.length >= 8);
}

/** host or host:port (IPv6 in brackets), no scheme: the SDK's rule, checked up front so that it stops the command with exit code 2. */
function checkAddress(address: string, addressFrom: string): void {
  const hostPort = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+)(?::(\d+))?$/.exec(address);
  if (hostPort && (hostPort[1] === undefined || isPort(hostPort[1]))) return;
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
  const { connectionOptions, namespace, target, secrets } = temporalConnectConfig(env, options);
  const timeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const connection = WatchedConnection.open({ ...connectionOptions, connectTimeout: timeoutMs });
  try {
    await connection.firstContact(timeoutMs);
    // Then the SDK's own check (GetSystemInfo): credentials and the server's answer, within what is left of the one deadline.
    await withinDeadline(connection.ensureConnected(), deadline, timeoutMs);
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw connectFailure(err, target, secrets);
  }
  return { client: new Client({ connection, namespace }), connection, address: target.address, namespace, close: () => connection.close() };
}

function withinDeadline<T>(work: Promise<T>, deadline: number, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectTimeout(timeoutMs)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
