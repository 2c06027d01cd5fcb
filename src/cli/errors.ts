import { ScheduleNotFoundError } from '@temporalio/client';
import { ConfigError } from '../config/config-error';
import type { CliIo } from './program';

/** The command line is wrong (exit code 2), like a ConfigError but for arguments. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One way for every command to report a failure: the message, and exit code 2 for usage or configuration, 1 otherwise. */
export function reportCliFailure(err: unknown, what: string, io: Pick<CliIo, 'err'>): number {
  if (err instanceof ConfigError) {
    io.err(`configuration error: ${err.message}`);
    return 2;
  }
  if (err instanceof UsageError) {
    io.err(`${err.message} (add --help for usage)`);
    return 2;
  }
  if (err instanceof ScheduleNotFoundError) {
    io.err(`schedule ${err.scheduleId} does not exist: \`pg-backup-workflow schedule apply\` creates it`);
    return 1;
  }
  io.err(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}
