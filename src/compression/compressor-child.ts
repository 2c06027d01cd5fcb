import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { systemEnvironment } from '../config/registry';

/** How much of a compressor's stderr to keep for the error message. */
const STDERR_LIMIT = 4096;

/**
 * Starts a compressor program (zstd) the way every caller here needs it: stdout and stderr
 * piped, stdin piped or a file descriptor the program reads itself, and an environment with
 * PATH, locale and home only, so that no secret of the worker's (database URLs, webhooks, keys)
 * reaches it. `stderr()` is the head of what it said, for the error message.
 */
export function spawnCompressor<I extends 'pipe' | number>(
  command: string,
  args: string[],
  stdin: I,
): { child: ChildProcessByStdio<I extends 'pipe' ? Writable : null, Readable, Readable>; stderr: () => string } {
  const child = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'], env: systemEnvironment(process.env) }) as ChildProcessByStdio<
    I extends 'pipe' ? Writable : null,
    Readable,
    Readable
  >;
  let said = '';
  child.stderr.on('data', (d: Buffer) => {
    if (said.length < STDERR_LIMIT) said = (said + d.toString()).slice(0, STDERR_LIMIT);
  });
  return { child, stderr: () => said };
}
