import type { Client } from '@temporalio/client';
import { EXIT, type CliContext } from './program';

/**
 * Runs a command that talks to Temporal: its configuration is read first, all of it (a typo must
 * not need a reachable server to be reported), then the client connects, the action runs, and
 * the connection closes whatever happens.
 */
export async function withTemporalClient<C>(
  ctx: CliContext,
  loadConfig: (env: CliContext['env']) => C,
  action: (client: Client, config: C) => Promise<void>,
): Promise<number> {
  const config = loadConfig(ctx.env);
  const { connectClient } = await import('../temporal/connection');
  const connection = await connectClient(ctx.env);
  try {
    await action(connection.client, config);
    return EXIT.ok;
  } finally {
    await connection.close();
  }
}
