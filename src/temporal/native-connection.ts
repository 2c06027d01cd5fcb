import { NativeConnection } from '@temporalio/worker';
import type { Env } from '../config/registry';
import { connectFailure } from './connect-failure';
import { temporalConnectConfig, type ConnectOptions } from './connection';

/**
 * The workers' connection (the SDK's Rust core), from the same settings as the client's. Its
 * errors are tonic debug strings (`tonic::transport::Error(Transport, ConnectError(…))`): a
 * failure is the same TemporalUnreachable sentence the client commands give.
 */
export async function connectNative(env: Env, options: ConnectOptions = {}): Promise<{ connection: NativeConnection; address: string; namespace: string }> {
  const { connectionOptions, namespace, target, secrets } = temporalConnectConfig(env, options);
  try {
    return { connection: await NativeConnection.connect(connectionOptions), address: target.address, namespace };
  } catch (err) {
    throw connectFailure(err, target, secrets);
  }
}
