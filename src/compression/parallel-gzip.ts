import os from 'node:os';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { option } from '../config/registry';

/**
 * Parallel gzip, the way pigz does it: the input is cut into fixed-size blocks, each block is
 * raw-deflated on its own in the libuv threadpool (Node's async zlib), primed with the last
 * 32 KiB of the block before it as dictionary so matches can reach back across the cut and the
 * ratio stays that of one deflate stream. Every block but the last ends with a sync flush
 * (byte-aligned, not final), so the pieces concatenate into one valid deflate stream; the last
 * ends with Z_FINISH. One gzip header and one trailer (CRC32 of all input, computed in input
 * order, and its length mod 2^32) wrap them: the result is one ordinary gzip member that
 * gunzip, `gzip -t`, `zcat` and zlib read like any other.
 *
 * Memory is bounded by `inFlight` blocks (input + output) whatever the input size: no new
 * block is started while that many are compressing or waiting to be read downstream.
 *
 * Throughput: the threadpool has UV_THREADPOOL_SIZE threads (default 4), shared with fs and
 * dns work. On machines with more than 4 cores, start the process with a larger
 * UV_THREADPOOL_SIZE (it is read once, before the pool's first use) or blocks queue up.
 */
export interface ParallelGzipOptions {
  /** zlib level 1–9 (default 6, like gzip). */
  level?: number;
  /** Input bytes per block (default 1 MiB; at least 32 KiB so a block can be the next one's dictionary). */
  blockSize?: number;
  /** Blocks compressing or waiting to be written at once (default: min(cores, threadpool size) + 1). */
  inFlight?: number;
}

export const WINDOW = 32 * 1024;
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;

/**
 * One block per thread that can compress (cores, but no more than the threadpool has threads),
 * plus one, so a thread never waits for the main thread to hand it the next block.
 */
export function defaultInFlight(): number {
  const pool = Number(option(process.env, 'UV_THREADPOOL_SIZE')) || 4;
  return Math.max(1, Math.min(os.availableParallelism(), pool)) + 1;
}

/** A Duplex: write plain bytes in, read one gzip stream out. Use in `stream.pipeline`. */
export function createParallelGzip(options: ParallelGzipOptions = {}): Duplex {
  const settings = resolve(options);
  return Duplex.from((source: AsyncIterable<Buffer | string>) => gzipChunks(source, settings));
}

/** The same as an async generator: plain chunks in, gzip chunks out (also usable as a pipeline step). */
export async function* gzipChunks(source: AsyncIterable<Buffer | Uint8Array | string>, options: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const { level, blockSize, inFlight } = resolve(options);
  const pending: Array<{ job: Promise<Buffer>; input: Buffer }> = [];
  // Input blocks are recycled once compressed: a multi-GB stream reuses the same few MiB
  // instead of leaving a trail of garbage Buffers that V8 only collects every few dozen MB.
  const spare: Buffer[] = [];
  let dictionary: Buffer | undefined;
  let crc = 0;
  let size = 0;
  let block: Buffer = Buffer.allocUnsafe(blockSize);
  let fill = 0;

  const submit = (data: Buffer, last: boolean) => {
    // zlib copies the dictionary when the job starts, so the block it came from may be reused after this call.
    const job = deflateBlock(data, level, dictionary, last);
    job.catch(() => undefined); // awaited in order below; this only stops an early abort from leaving it unhandled
    pending.push({ job, input: block });
    // Full blocks are ≥ 32 KiB, so the tail of this one is the whole window the next one needs.
    dictionary = data.subarray(data.length - WINDOW);
    block = spare.pop() ?? Buffer.allocUnsafe(blockSize);
    fill = 0;
  };
  const oldest = async () => {
    const { job, input } = pending.shift()!;
    const out = await job;
    spare.push(input);
    return out;
  };

  yield header(level);
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    crc = zlib.crc32(chunk, crc);
    size += chunk.length;
    for (let offset = 0; offset < chunk.length;) {
      const n = Math.min(blockSize - fill, chunk.length - offset);
      chunk.copy(block, fill, offset, offset + n);
      fill += n;
      offset += n;
      if (fill === blockSize) {
        submit(block, false);
        // Backpressure: yield (and so wait for the reader) before starting more than `inFlight`.
        while (pending.length >= inFlight) yield await oldest();
      }
    }
  }
  // The last block, possibly empty (then it is just the 2-byte final empty block).
  submit(block.subarray(0, fill), true);
  while (pending.length > 0) yield await oldest();
  yield trailer(crc, size);
}

function deflateBlock(data: Buffer, level: number, dictionary: Buffer | undefined, last: boolean): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    zlib.deflateRaw(
      data,
      {
        level,
        ...(dictionary ? { dictionary } : {}),
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        // Room for the whole compressed block: one trip through the threadpool per block.
        chunkSize: deflateBound(data.length),
      },
      (err, out) => (err ? reject(err) : resolvePromise(out)),
    );
  });
}

/** zlib's deflateBound plus the sync-flush marker, rounded up (never below zlib's 64-byte minimum chunk). */
function deflateBound(n: number): number {
  return Math.max(1024, n + (n >> 12) + (n >> 14) + (n >> 25) + 64);
}

function header(level: number): Buffer {
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL (2: best, 4: fastest) OS=3 (Unix), as gzip -n writes it.
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : level === 1 ? 4 : 0, 3]);
}

function trailer(crc: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(size % 2 ** 32, 4);
  return out;
}

function resolve(options: ParallelGzipOptions): Required<ParallelGzipOptions> {
  const level = options.level ?? 6;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const inFlight = options.inFlight ?? defaultInFlight();
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new RangeError(`gzip level must be 1-9, got ${level}`);
  if (!Number.isInteger(blockSize) || blockSize < WINDOW) throw new RangeError(`blockSize must be an integer ≥ ${WINDOW}, got ${blockSize}`);
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`inFlight must be a positive integer, got ${inFlight}`);
  return { level, blockSize, inFlight };
}
