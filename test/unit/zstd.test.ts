import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ZstdFailed, ZstdNotInstalled, createZstdCompress, createZstdDecompress, zstdVersion } from '../../src/compression/zstd';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zstd-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `total` bytes of dump-like text, made on the fly in 1 MiB chunks (never all in memory). */
function* dumpLike(total: number): Generator<Buffer> {
  const line = (i: number) =>
    `${i}\tJürgen Müller\tjurgen.muller${i % 1000}@example.com\t{"lang": "de", "score": ${i % 97}.5}\tthe quick brown fox ${i * 7919}\n`;
  let made = 0;
  for (let i = 0; made < total;) {
    let chunk = '';
    while (chunk.length < 1 << 20) chunk += line(i++);
    const buf = Buffer.from(chunk).subarray(0, Math.min(1 << 20, total - made));
    made += buf.length;
    yield buf;
  }
}

/** `total` bytes of random words (seeded): text with enough entropy that a higher level pays off. */
function* wordSalad(total: number): Generator<Buffer> {
  const words = 'select insert update delete order invoice customer shipped refund größe 좋아요 très bien быстро the of and to in is'.split(' ');
  let seed = 12345;
  let made = 0;
  while (made < total) {
    let chunk = '';
    while (chunk.length < 1 << 16) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      chunk += words[seed % words.length] + (seed & 0x100 ? '\t' : ' ') + (seed & 0x3000 ? '' : `${seed % 100000}\n`);
    }
    const buf = Buffer.from(chunk).subarray(0, total - made);
    made += buf.length;
    yield buf;
  }
}

function sha256Sink(): { sink: Writable; result: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  return { sink, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Pids of zstd processes that are children of this test process. */
const zstdChildren = () =>
  execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /\bzstd$/.test(l.trim()))
    .map((l) => Number(l.trim().split(/\s+/)[0]));

describe('zstd through the zstd program', () => {
  it('reports the installed version', async () => {
    expect(await zstdVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('writes a standard .zst that `zstd -t` accepts and `zstd -d` restores byte for byte', async () => {
    const file = path.join(dir, 'a.sql.zst');
    const plain = Buffer.concat([...dumpLike(5 << 20)]);
    await pipeline(Readable.from([plain]), createZstdCompress({ level: 3 }), fs.createWriteStream(file));
    expect(fs.statSync(file).size).toBeLessThan(plain.length / 4);
    expect(spawnSync('zstd', ['-t', '-q', file]).status).toBe(0);
    const restored = execFileSync('zstd', ['-d', '-c', '-q', file], { maxBuffer: 64 << 20 });
    expect(restored.equals(plain)).toBe(true);
    // And our own decompressor reads what zstd wrote.
    const { sink, result } = sha256Sink();
    await pipeline(fs.createReadStream(file), createZstdDecompress(), sink);
    expect(result()).toEqual({ sha256: createHash('sha256').update(plain).digest('hex'), bytes: plain.length });
  });

  it('honours the level: 12 is smaller than 1', async () => {
    const sizes: number[] = [];
    for (const level of [1, 12]) {
      const { sink, result } = sha256Sink();
      await pipeline(Readable.from(wordSalad(2 << 20)), createZstdCompress({ level, threads: 2 }), sink);
      sizes.push(result().bytes);
    }
    expect(sizes[1]).toBeLessThan(sizes[0]);
    expect(() => createZstdCompress({ level: 0 })).toThrow(RangeError);
    expect(() => createZstdCompress({ level: 20 })).toThrow(RangeError);
  });

  it('compresses empty input into a valid empty frame, and decompresses it to nothing', async () => {
    const file = path.join(dir, 'empty.zst');
    await pipeline(Readable.from([]), createZstdCompress(), fs.createWriteStream(file));
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    expect(execFileSync('zstd', ['-d', '-c', '-q', file]).length).toBe(0);
    const { sink, result } = sha256Sink();
    await pipeline(fs.createReadStream(file), createZstdDecompress(), sink);
    expect(result().bytes).toBe(0);
  });

  it('streams 384 MB through compress and decompress in flat memory', async () => {
    const total = 384 << 20;
    const expected = createHash('sha256');
    // Eight distinct MiB, made before measuring and yielded in turn: what grows is then the
    // stream's own memory, not the garbage of generating 384 MB of text (whose collection
    // timing varies with the machine's load).
    const pool = [...dumpLike(8 << 20)];
    const source = Readable.from(
      (function* () {
        for (let made = 0; made < total; made += 1 << 20) {
          const chunk = pool[(made >> 20) % pool.length];
          expected.update(chunk);
          yield chunk;
        }
      })(),
    );
    const { sink, result } = sha256Sink();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      await pipeline(source, createZstdCompress({ level: 1 }), createZstdDecompress(), sink);
    } finally {
      clearInterval(timer);
    }
    expect(result()).toEqual({ sha256: expected.digest('hex'), bytes: total });
    expect((peak - before) / 2 ** 20).toBeLessThan(64);
  }, 120_000);

  it('fails a corrupt or truncated file with zstd’s own words, not EPIPE', async () => {
    const good = path.join(dir, 'good.zst');
    await pipeline(Readable.from(dumpLike(8 << 20)), createZstdCompress(), fs.createWriteStream(good));
    const truncated = fs.readFileSync(good).subarray(0, 100_000);
    const garbage = randomBytes(3 << 20);
    for (const [input, words] of [
      [truncated, /truncated|premature|incomplete|unexpected end/i],
      [garbage, /unknown header|unsupported format|not in zstd format/i],
    ] as const) {
      const err = await pipeline(Readable.from([input]), createZstdDecompress(), sha256Sink().sink).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ZstdFailed);
      expect((err as ZstdFailed).exitCode).not.toBe(0);
      expect((err as Error).message).toMatch(/^zstd decompression failed \(exit code \d+\): /);
      expect((err as Error).message).toMatch(words);
    }
  });

  it('says clearly when zstd is not installed', async () => {
    const missing = path.join(dir, 'no-such-zstd');
    const err = await pipeline(Readable.from([Buffer.from('x')]), createZstdCompress({ command: missing }), sha256Sink().sink).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ZstdNotInstalled);
    expect((err as Error).message).toContain('install the zstd package');
    await expect(zstdVersion(missing)).rejects.toBeInstanceOf(ZstdNotInstalled);
    expect(new ZstdNotInstalled('zstd').message).toBe('zstd is not installed: install the zstd package (apt-get install zstd)');
  });

  it('stops promptly and kills zstd when the pipeline is aborted', async () => {
    const controller = new AbortController();
    // An endless source: only the abort can end this pipeline.
    const endless = Readable.from(
      (function* () {
        for (;;) yield* dumpLike(64 << 20);
      })(),
    );
    const compress = createZstdCompress({ level: 19 });
    const done = pipeline(endless, compress, sha256Sink().sink, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 500));
    const pids = zstdChildren();
    expect(pids).toHaveLength(1);
    const abortedAt = Date.now();
    controller.abort();
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    for (let i = 0; i < 50 && running(pids[0]); i++) await new Promise((r) => setTimeout(r, 20));
    expect(running(pids[0])).toBe(false);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
  });

  it('fails, not hangs, when zstd is killed by someone else', async () => {
    const endless = Readable.from(
      (function* () {
        for (;;) yield* dumpLike(64 << 20);
      })(),
    );
    const done = pipeline(endless, createZstdCompress({ level: 19 }), sha256Sink().sink);
    await new Promise((r) => setTimeout(r, 300));
    const [pid] = zstdChildren();
    process.kill(pid, 'SIGKILL');
    await expect(done).rejects.toThrow(/^zstd compression failed \(killed by SIGKILL\)/);
  });
});
