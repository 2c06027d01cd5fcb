import { Connection } from '@temporalio/client';
import { ConnectTimeout } from './connect-failure';

/** grpc-js's ConnectivityState values (its enum is not re-exported by the SDK). */
const READY = 2;
const TRANSIENT_FAILURE = 3;
const SHUTDOWN = 4;
const UNAVAILABLE = 14;

/**
 * The SDK's client Connection, whose first contact can be watched (its gRPC client is
 * protected: open to subclasses; `Connection.lazy` constructs the class it is called on).
 */
export class WatchedConnection extends Connection {
  static open(options: Parameters<typeof Connection.lazy>[0]): WatchedConnection {
    return WatchedConnection.lazy(options) as WatchedConnection;
  }

  /**
   * Waits for the channel to settle. grpc-js keeps retrying a refused or unresolvable address
   * until the SDK's deadline and then says only "Failed to connect before the deadline"; here
   * the first failure decides, as it does for the `temporal` CLI and the workers'
   * NativeConnection, and the reason grpc-js recorded (`connect ECONNREFUSED 127.0.0.1:1`) is kept.
   */
  firstContact(timeoutMs: number): Promise<void> {
    const channel = this.client.getChannel();
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const settle = (state: number): void => {
        if (state === READY) return resolve();
        if (state === SHUTDOWN) return reject(new Error('the connection was closed'));
        if (state === TRANSIENT_FAILURE) {
          void this.lastError().then((reason) => (reason ? reject(new Error(reason)) : resolve()));
          return;
        }
        channel.watchConnectivityState(state, deadline, (err) => (err ? reject(new ConnectTimeout(timeoutMs)) : settle(channel.getConnectivityState(false))));
      };
      settle(channel.getConnectivityState(true));
    });
  }

  /**
   * A failed channel fails a call that does not wait for it at once, with the channel's last
   * error in the details. Undefined when the call got through (the channel recovered meanwhile).
   */
  private lastError(): Promise<string | undefined> {
    const identity = (bytes: Buffer) => bytes;
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
        identity,
        identity,
        Buffer.alloc(0),
        { deadline: Date.now() + 2_000 },
        (err: { code?: number; details?: string } | null) => resolve(err?.code === UNAVAILABLE ? err.details || 'unavailable' : undefined),
      );
    });
  }
}
