import { readFileSync } from 'node:fs';
import type fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { WriterFailed } from '../files/follow-file';
import { spawnCompressor } from './compressor-child';

/**
 * A compressor program (`zstd`; any that reads stdin and writes stdout) reading a file itself
 * while another process may still be writing it: no byte of the input passes through Node.
 * The file is handed to the program as its stdin, so the program reads from the file's current
 * offset until a read finds nothing more (bytes written meanwhile included) and writes one
 * complete zstd frame (or gzip member). While the writer is still at work, that repeats for
 * each stretch the writer has added since: `minSegmentBytes` of it, so that the program does
 * not start again for every few KB; or, so that a slow or pausing dump is followed closely all
 * the same, whatever there is once the oldest unread byte has waited `maxWaitMs`, or sooner
 * when the writer has paused for `idleMs` with at least `idleMinBytes` unread (a dump trickling
 * in small bursts makes at most a frame a second). The open file's offset, shared with the
 * program, says where the last run stopped. Concatenated frames (and gzip members) are
 * standard: `zstd -d` (and gunzip) read them as one stream.
 *
 * Linux only (the offset is read from /proc/self/fdinfo), and the handle must never be read
 * without an explicit position (that would move the shared offset).
 */
export interface CompressorProgram {
  command: string;
  /** Read stdin, write stdout. */
  args: string[];
  /** What to say when the program is not there. */
  notInstalled: (command: string) => Error;
}

export interface SegmentOptions {
  program: CompressorProgram;
  /** The writer's state, read before the file's size: `complete` means nothing more will come. */
  state: () => 'writing' | 'complete' | 'failed';
  signal: AbortSignal;
  /** While the writer writes: how much new input makes a segment worth starting. */
  minSegmentBytes?: number;
  /** ...or how long the writer may add nothing before a segment starts with what there is, if that is at least `idleMinBytes`... */
  idleMs?: number;
  idleMinBytes?: number;
  /** ...or how long new input may wait for more before a segment starts anyway. */
  maxWaitMs?: number;
  /** How long to wait for the writer to add more before looking again. */
  pollMs?: number;
  /** Called as each segment starts, with the input offset it starts from. */
  onSegment?: (from: number) => void;
}

/** The compressor program exited with an error, or was killed by someone else. */
export class CompressorFailed extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (${exitCode !== null ? `exit code ${exitCode}` : `killed by ${exitSignal}`})${stderr ? `: ${stderr}` : ''}`);
    this.name = 'CompressorFailed';
  }
}

const MIN_SEGMENT_BYTES = 64 << 20;
const IDLE_MS = 100;
const IDLE_MIN_BYTES = 1 << 20;
const MAX_WAIT_MS = 1000;
const POLL_MS = 20;

/** Where the program has read up to: the offset of the open file it shares with this process. */
export function inputPosition(handle: fs.FileHandle): number {
  const info = readFileSync(`/proc/self/fdinfo/${handle.fd}`, 'utf8');
  const match = /^pos:\s*(\d+)/m.exec(info);
  if (!match) throw new Error(`no position in /proc/self/fdinfo/${handle.fd}`);
  return Number(match[1]);
}

/** The compressed bytes of the whole file (from offset 0), segment after segment, ending when the writer has completed and all of it was read. */
export async function* compressInSegments(handle: fs.FileHandle, options: SegmentOptions): AsyncGenerator<Buffer> {
  const minSegmentBytes = options.minSegmentBytes ?? MIN_SEGMENT_BYTES;
  const idleMs = options.idleMs ?? IDLE_MS;
  const idleMinBytes = options.idleMinBytes ?? IDLE_MIN_BYTES;
  const maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
  const pollMs = options.pollMs ?? POLL_MS;
  let segments = 0;
  let waitingSince: number | undefined;
  let lastSize = -1;
  let grewAt = 0;
  for (;;) {
    options.signal.throwIfAborted();
    const state = options.state();
    if (state === 'failed') throw new WriterFailed();
    const position = inputPosition(handle);
    const size = (await handle.stat()).size;
    const unread = size - position;
    if (state === 'complete') {
      // An empty file still gets one (empty) member or frame: the output is always valid.
      if (unread <= 0 && segments > 0) return;
    } else if (unread < minSegmentBytes) {
      const now = Date.now();
      if (size !== lastSize) [lastSize, grewAt] = [size, now];
      waitingSince = unread > 0 ? (waitingSince ?? now) : undefined;
      const paused = now - grewAt >= idleMs && unread >= idleMinBytes;
      if (waitingSince === undefined || (!paused && now - waitingSince < maxWaitMs)) {
        await sleep(pollMs, undefined, { signal: options.signal });
        continue;
      }
    }
    segments += 1;
    waitingSince = undefined;
    options.onSegment?.(position);
    yield* runSegment(handle, options.program, options.signal);
    // A program that exits content without reading what was there would be started again forever.
    if (unread > 0 && inputPosition(handle) === position) {
      throw new CompressorFailed(options.program.command, 0, null, `it stopped at byte ${position} of its input without reading on`);
    }
  }
}

/** One run of the program from the file's offset to its end at that moment. */
async function* runSegment(handle: fs.FileHandle, program: CompressorProgram, signal: AbortSignal): AsyncGenerator<Buffer> {
  // A listener added to a signal that already fired would never run: no child for a cancelled step.
  signal.throwIfAborted();
  const { child, stderr } = spawnCompressor(program.command, program.args, handle.fd);
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? program.notInstalled(program.command) : err));
    child.once('close', (code, exitSignal) => (code === 0 ? resolve() : reject(new CompressorFailed(program.command, code, exitSignal, stderr().trim()))));
  });
  exited.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled
  // Nothing keeps compressing for a cancelled step, or for a consumer that stopped reading.
  const kill = () => child.kill('SIGKILL');
  signal.addEventListener('abort', kill, { once: true });
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    // Killed for a cancellation: say that, not "killed by SIGKILL".
    signal.throwIfAborted();
    await exited;
  } finally {
    signal.removeEventListener('abort', kill);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) kill();
  }
}
