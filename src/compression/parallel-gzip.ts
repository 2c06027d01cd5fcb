import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
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

/**
 * A Transform: write plain bytes in, read one gzip stream out. Use in `stream.pipeline`. A
 * Transform (not `Duplex.from` of a generator, which on Node 20 never closes when destroyed
 * while it waits for input) ends at once when its pipeline is aborted: a cancelled compress
 * stops instead of hanging.
 */
export function createParallelGzip(options: ParallelGzipOptions = {}): Transform {
  const blocks = new GzipBlocks(resolve(options));
  const gzip = new Transform({
    transform(chunk: Buffer | string, _encoding, callback: TransformCallback) {
      blocks.add(chunk).then((out) => {
        for (const piece of out) gzip.push(piece);
        callback();
      }, callback);
    },
    flush(callback: TransformCallback) {
      blocks.finish().then((out) => {
        for (const piece of out) gzip.push(piece);
        callback();
      }, callback);
    },
  });
  gzip.push(blocks.header());
  return gzip;
}

/** The same as an async generator: plain chunks in, gzip chunks out (also usable as a pipeline step). */
export async function* gzipChunks(source: AsyncIterable<Buffer | Uint8Array | string>, options: ParallelGzipOptions = {}): AsyncGenerator<Buffer> {
  const blocks = new GzipBlocks(resolve(options));
  yield blocks.header();
  for await (const chunk of source) yield* await blocks.add(chunk);
  yield* await blocks.finish();
}

/**
 * The block machinery both forms share: cuts the input into blocks, deflates up to `inFlight`
 * at once, and hands back the compressed pieces in input order.
 */
class GzipBlocks {
  private readonly pending: Array<{ job: Promise<Buffer>; input: Buffer }> = [];
  // Input blocks are recycled once compressed: a multi-GB stream reuses the same few MiB
  // instead of leaving a trail of garbage Buffers that V8 only collects every few dozen MB.
  private readonly spare: Buffer[] = [];
  private dictionary: Buffer | undefined;
  private crc = 0;
  private size = 0;
  private block: Buffer;
  private fill = 0;
  /** Compressed size of the block that finished last: the next block's output is sized from it. */
  private lastOut: number | undefined;

  constructor(private readonly settings: Required<ParallelGzipOptions>) {
    this.block = Buffer.allocUnsafe(settings.blockSize);
  }

  header(): Buffer {
    return header(this.settings.level);
  }

  /** Takes a chunk of input; resolves to the pieces finished meanwhile, waiting while `inFlight` blocks are still compressing. */
  async add(raw: Buffer | Uint8Array | string): Promise<Buffer[]> {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const { blockSize, inFlight } = this.settings;
    this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    const out: Buffer[] = [];
    for (let offset = 0; offset < chunk.length;) {
      const n = Math.min(blockSize - this.fill, chunk.length - offset);
      chunk.copy(this.block, this.fill, offset, offset + n);
      this.fill += n;
      offset += n;
      if (this.fill === blockSize) {
        this.submit(this.block, false);
        // Backpressure: never more than `inFlight` blocks compressing or waiting to be read.
        while (this.pending.length >= inFlight) out.push(await this.oldest());
      }
    }
    return out;
  }

  /** The last block (possibly empty: then just the 2-byte final empty block), everything still pending, and the trailer. */
  async finish(): Promise<Buffer[]> {
    this.submit(this.block.subarray(0, this.fill), true);
    const out: Buffer[] = [];
    while (this.pending.length > 0) out.push(await this.oldest());
    out.push(trailer(this.crc, this.size));
    return out;
  }

  private submit(data: Buffer, last: boolean): void {
    // zlib copies the dictionary when the job starts, so the block it came from may be reused after this call.
    const job = deflateBlock(data, this.settings.level, this.dictionary, last, outputSize(data.length, this.lastOut)).then((out) => {
      this.lastOut = out.length;
      return out;
    });
    job.catch(() => undefined); // awaited in order; this only stops an early abort from leaving it unhandled
    this.pending.push({ job, input: this.block });
    // Full blocks are ≥ 32 KiB, so the tail of this one is the whole window the next one needs.
    this.dictionary = data.subarray(data.length - WINDOW);
    this.block = this.spare.pop() ?? Buffer.allocUnsafe(this.settings.blockSize);
    this.fill = 0;
  }

  private async oldest(): Promise<Buffer> {
    const { job, input } = this.pending.shift()!;
    const out = await job;
    this.spare.push(input);
    return out;
  }
}

/**
 * zlib's output buffer for a block. zlib hands back a slice of one buffer of this size, and the
 * whole buffer lives as long as the slice: sized for the worst case (deflateBound, ~1.07 MB per
 * 1 MiB block) while text compresses 3–8×, every block would leave ~0.8 MB of unused external
 * memory, and V8 would run a full GC every few dozen blocks (measured: 78 per GB of text, the
 * main cost of compressing it). Blocks of one dump compress alike, so the previous block's
 * output plus a quarter is nearly always enough; when it is not, zlib simply adds a second
 * buffer and joins them (one copy, for that block only).
 */
export function outputSize(inputBytes: number, previousOut: number | undefined): number {
  const bound = deflateBound(inputBytes);
  if (previousOut === undefined) return bound;
  return Math.min(bound, Math.max(64 * 1024, Math.ceil((previousOut * 1.25) / 4096) * 4096));
}

function deflateBlock(data: Buffer, level: number, dictionary: Buffer | undefined, last: boolean, chunkSize: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    zlib.deflateRaw(
      data,
      {
        level,
        ...(dictionary ? { dictionary } : {}),
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        // Room for the whole compressed block, nearly always: one trip through the threadpool per block.
        chunkSize,
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
