import { ScheduleNotFoundError } from '@temporalio/client';
import { ConfigError } from '../config/config-error';

/** One way for the schedule CLIs to report a failure: the message, and exit code 2 for configuration, 1 otherwise. */
export function reportCliFailure(err: unknown, what: string, io: { err(line: string): void }): number {
  if (err instanceof ConfigError) {
    io.err(`configuration error: ${err.message}`);
    return 2;
  }
  if (err instanceof ScheduleNotFoundError) {
    io.err(`schedule ${err.scheduleId} does not exist: \`npm run schedule\` creates it`);
    return 1;
  }
  io.err(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  return 1;
}
