import { execFile, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { spawnCompressor } from './compressor-child';
import type { CompressorProgram } from './program-segments';

/**
 * zstd through Debian's `zstd` program (Node 20's zlib has none): a child process reading stdin
 * and writing stdout, wrapped as a Duplex for `stream.pipeline`. Compression is multi-threaded
 * (`-T0`: one worker per core, inside zstd), so the Node side only moves bytes. The output is
 * standard zstd frames that `zstd -d`, `zstdcat` and `zstd -t` read.
 *
 * Failures are typed: the program missing is `ZstdNotInstalled`; a non-zero exit (corrupt input
 * to the decompressor, a full disk under zstd, a kill by someone else) is `ZstdFailed` with
 * zstd's own words. Destroying the stream (an AbortSignal through `pipeline`, or a failure
 * elsewhere in it) kills the child at once: nothing keeps compressing for a cancelled step.
 */
export interface ZstdOptions {
  /** The program, default `zstd` from PATH. */
  command?: string;
  /** Compression level 1–19 (default 3, zstd's own default); ignored when decompressing. */
  level?: number;
  /** Compression threads; 0 (default) means one per core (`-T0`). */
  threads?: number;
}

export const DEFAULT_ZSTD_LEVEL = 3;

/** `zstd` is not installed (or not at the configured path). */
export class ZstdNotInstalled extends Error {
  constructor(readonly command: string) {
    super(`${command === 'zstd' ? 'zstd is not installed' : `zstd not found at ${JSON.stringify(command)}`}: install the zstd package (apt-get install zstd)`);
    this.name = 'ZstdNotInstalled';
  }
}

/** zstd exited with an error or was killed by a signal that we did not send. */
export class ZstdFailed extends Error {
  constructor(
    readonly operation: 'compress' | 'decompress',
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    const how = exitCode !== null ? `exit code ${exitCode}` : `killed by ${exitSignal}`;
    super(`zstd ${operation === 'compress' ? 'compression' : 'decompression'} failed (${how})${stderr ? `: ${stderr}` : ''}`);
    this.name = 'ZstdFailed';
  }
}

/** Plain bytes in, one zstd stream out. */
export function createZstdCompress(options: ZstdOptions = {}): Duplex {
  return new ZstdProcess('compress', options.command ?? 'zstd', zstdCompressArgs(options));
}

/** `zstd -<level> -T<threads>`, stdin to stdout, for a program that reads the file itself (see program-segments). */
export function zstdProgram(options: ZstdOptions = {}): CompressorProgram {
  return { command: options.command ?? 'zstd', args: zstdCompressArgs(options), notInstalled: (c) => new ZstdNotInstalled(c) };
}

function zstdCompressArgs(options: ZstdOptions): string[] {
  const level = options.level ?? DEFAULT_ZSTD_LEVEL;
  const threads = options.threads ?? 0;
  if (!Number.isInteger(level) || level < 1 || level > 19) throw new RangeError(`zstd level must be 1-19, got ${level}`);
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`zstd threads must be an integer ≥ 0, got ${threads}`);
  return ['-q', `-${level}`, `-T${threads}`, '-c', '-'];
}

/** zstd frames in (one or more, as `zstd -d` accepts), plain bytes out; corrupt or truncated input fails with ZstdFailed. */
export function createZstdDecompress(options: Pick<ZstdOptions, 'command'> = {}): Duplex {
  return new ZstdProcess('decompress', options.command ?? 'zstd', ['-d', '-q', '-c', '-']);
}

/** The installed zstd's version (e.g. `1.5.4`), or ZstdNotInstalled: a start-up check with a clear message. */
export function zstdVersion(command = 'zstd'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(new ZstdNotInstalled(command));
      if (err) return reject(err);
      const m = /v(\d+\.\d+\.\d+)/.exec(stdout);
      if (!m) return reject(new Error(`unexpected \`${command} --version\` output: ${stdout.trim()}`));
      resolve(m[1]);
    });
  });
}

class ZstdProcess extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly stderr: () => string;
  private spawnError?: Error;
  private readonly exited: Promise<void>;
  private exitCode: number | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private killedByUs = false;

  constructor(
    private readonly operation: 'compress' | 'decompress',
    private readonly command: string,
    args: string[],
  ) {
    // Pipe reads come in 64 KiB: room for a few MiB either side keeps both processes busy.
    super({ readableHighWaterMark: 4 << 20, writableHighWaterMark: 4 << 20 });
    ({ child: this.child, stderr: this.stderr } = spawnCompressor(command, args, 'pipe'));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err: NodeJS.ErrnoException) => {
        this.spawnError = err.code === 'ENOENT' ? new ZstdNotInstalled(command) : err;
        resolve();
        this.destroy(this.spawnError);
      });
      this.child.once('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
    // zstd stopping early (corrupt input) closes its stdin: the exit status says why, not EPIPE.
    this.child.stdin.on('error', () => undefined);
    this.child.stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) this.child.stdout.pause();
    });
    this.child.stdout.once('end', () => {
      void this.exited.then(() => {
        const failure = this.failure();
        if (failure) this.destroy(failure);
        else this.push(null);
      });
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.spawnError) return done(this.spawnError);
    if (this.child.stdin.write(chunk)) done();
    else this.waitForDrain(done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.spawnError) return done(this.spawnError);
    this.child.stdin.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      this.killedByUs = true;
      this.child.kill('SIGKILL');
    }
    this.child.stdout.destroy();
    this.child.stdin.destroy();
    done(err);
  }

  /** Waits for stdin to drain, or for zstd to exit (then the write fails with its exit status). */
  private waitForDrain(done: (err?: Error | null) => void): void {
    const onDrain = () => {
      this.child.removeListener('close', onClose);
      done();
    };
    const onClose = () => {
      this.child.stdin.removeListener('drain', onDrain);
      done(this.failure() ?? new ZstdFailed(this.operation, this.exitCode, this.exitSignal, 'zstd exited before reading all of its input'));
    };
    this.child.stdin.once('drain', onDrain);
    this.child.once('close', onClose);
  }

  private failure(): Error | undefined {
    if (this.spawnError) return this.spawnError;
    if (this.exitCode === 0 || this.killedByUs) return undefined;
    return new ZstdFailed(this.operation, this.exitCode, this.exitSignal, this.stderr().trim());
  }
}
