import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CompressorFailed, compressInSegments, inputPosition, type CompressorProgram, type SegmentOptions } from '../../src/compression/program-segments';
import { ZstdNotInstalled, zstdProgram } from '../../src/compression/zstd';
import { WriterFailed } from '../../src/files/follow-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'segments-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type State = 'writing' | 'complete' | 'failed';

/** Dump-like lines with some randomness: compressible, and no two runs alike. */
function dumpText(bytes: number): Buffer {
  const salt = randomBytes(4).toString('hex');
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `${i}\tJürgen Müller ${salt}\tuser${i % 977}@example.com\t{"n": ${(i * 7919) % 10007}}\n`;
  return Buffer.from(text).subarray(0, bytes);
}

/** Runs the segments over `file` to the end, collecting the output. */
async function collect(handle: fs.promises.FileHandle, options: SegmentOptions): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of compressInSegments(handle, options)) out.push(chunk);
  return Buffer.concat(out);
}

/** zstd, the product's; and plain gzip, as any stdin-to-stdout compressor (concatenated members). */
const PROGRAMS: Array<[string, CompressorProgram, (b: Buffer) => Buffer]> = [
  ['zstd', zstdProgram({ level: 3 }), (b) => execFileSync('zstd', ['-dcq'], { input: b, maxBuffer: 1 << 30 })],
  [
    'gzip',
    { command: 'gzip', args: ['-1', '-c'], notInstalled: () => new Error('no gzip') },
    (b) => execFileSync('gzip', ['-dc'], { input: b, maxBuffer: 1 << 30 }),
  ],
];

describe.each(PROGRAMS)('%s reading the file itself, in segments', (name, program, decompress) => {
  it('follows a file while it is written, in bursts, trickles and pauses, to the byte; the standard tool reads the segments as one stream', async () => {
    const file = path.join(dir, `${name}-growing.sql`);
    const handle = await fs.promises.open(file, 'w+');
    let state: State = 'writing';
    const data = dumpText(24 << 20);
    const writer = (async () => {
      // 18 MiB at once (a segment by size), then trickles slower than maxWaitMs lets wait (segments by time).
      let at = 0;
      for (const size of [18 << 20, 10, 3000, 70_000, 1 << 20, 5, 200_000]) {
        await handle.write(data, at, size, at);
        at += size;
        await new Promise((r) => setTimeout(r, 150));
      }
      await handle.write(data, at, data.length - at, at);
      state = 'complete';
    })();
    const starts: number[] = [];
    const out = await collect(handle, {
      program,
      state: () => state,
      signal: new AbortController().signal,
      maxWaitMs: 100,
      onSegment: (from) => starts.push(from),
    });
    await writer;
    expect(decompress(out).equals(data)).toBe(true);
    expect(inputPosition(handle)).toBe(data.length);
    // The first segment did not wait for the end, and the later ones started where the last stopped.
    expect(starts.length).toBeGreaterThan(2);
    expect(starts[0]).toBe(0);
    expect(starts[1]).toBeGreaterThan(0);
    expect(starts[1]).toBeLessThan(data.length);
    if (name === 'gzip') expect(gunzipSync(out).equals(data)).toBe(true);
    await handle.close();
  });

  it('takes a paused burst of a MiB or more at once, and a trickle at most once a second', async () => {
    const file = path.join(dir, `${name}-trickle.sql`);
    const handle = await fs.promises.open(file, 'w+');
    let state: State = 'writing';
    const data = dumpText((2 << 20) + 40 * 4096);
    const starts: Array<{ from: number; at: number }> = [];
    const t0 = Date.now();
    const writer = (async () => {
      // A 2 MiB burst, then a pause: the segment should not wait for maxWaitMs.
      await handle.write(data, 0, 2 << 20, 0);
      await new Promise((r) => setTimeout(r, 600));
      // Then 4 KiB every 50 ms for two seconds: small pieces wait for one another.
      for (let i = 0, at = 2 << 20; i < 40; i++, at += 4096) {
        await handle.write(data, at, 4096, at);
        await new Promise((r) => setTimeout(r, 50));
      }
      state = 'complete';
    })();
    const out = await collect(handle, {
      program,
      state: () => state,
      signal: new AbortController().signal,
      onSegment: (from) => starts.push({ from, at: Date.now() - t0 }),
    });
    await writer;
    expect(decompress(out).equals(data)).toBe(true);
    expect(starts[0].from).toBe(0);
    expect(starts[0].at).toBeLessThan(500);
    // The trickle (about 2 s) makes two or three segments, one when the writer completes.
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(5);
    await handle.close();
  });

  it('turns a finished file into one segment, and an empty one into valid, empty output', async () => {
    const file = path.join(dir, `${name}-whole.sql`);
    const data = dumpText(3 << 20);
    fs.writeFileSync(file, data);
    const empty = path.join(dir, `${name}-empty.sql`);
    fs.writeFileSync(empty, '');
    for (const [f, expected] of [
      [file, data],
      [empty, Buffer.alloc(0)],
    ] as const) {
      const handle = await fs.promises.open(f, 'r');
      const starts: number[] = [];
      const out = await collect(handle, { program, state: () => 'complete', signal: new AbortController().signal, onSegment: (from) => starts.push(from) });
      expect(starts).toEqual([0]);
      expect(out.length).toBeGreaterThan(0);
      expect(decompress(out).equals(expected)).toBe(true);
      await handle.close();
    }
  });

  it('stops with WriterFailed when the writer gives up', async () => {
    const file = path.join(dir, `${name}-failed.sql`);
    fs.writeFileSync(file, dumpText(1 << 20));
    const handle = await fs.promises.open(file, 'r');
    let state: State = 'writing';
    setTimeout(() => (state = 'failed'), 50);
    await expect(collect(handle, { program, state: () => state, signal: new AbortController().signal, maxWaitMs: 10_000 })).rejects.toBeInstanceOf(
      WriterFailed,
    );
    await handle.close();
  });
});

describe('compressor program failures', () => {
  const file = path.join(dir, 'input.sql');
  fs.writeFileSync(file, dumpText(1 << 20));
  const complete = () => 'complete' as const;

  it('says which program is not installed', async () => {
    const handle = await fs.promises.open(file, 'r');
    const signal = new AbortController().signal;
    const err = await collect(handle, { program: zstdProgram({ command: '/nonexistent/zstd' }), state: complete, signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZstdNotInstalled);
    expect((err as Error).message).toBe('zstd not found at "/nonexistent/zstd": install the zstd package (apt-get install zstd)');
    await handle.close();
  });

  it('fails with the program’s own words when it exits with an error', async () => {
    const handle = await fs.promises.open(file, 'r');
    const failing: CompressorProgram = {
      command: 'sh',
      args: ['-c', 'head -c 100 >/dev/null; echo "disk quota exceeded" >&2; exit 3'],
      notInstalled: () => new Error('no sh'),
    };
    const err = await collect(handle, { program: failing, state: complete, signal: new AbortController().signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompressorFailed);
    expect((err as CompressorFailed).message).toBe('sh failed (exit code 3): disk quota exceeded');
    await handle.close();
  });

  it("gives the program PATH and locale, none of the worker's secrets", async () => {
    const handle = await fs.promises.open(file, 'r');
    const saved = process.env.SLACK_WEBHOOK_URL;
    process.env.SLACK_WEBHOOK_URL = 'https://hooks.example/services/T0/B0/secret-token';
    try {
      const showEnv: CompressorProgram = { command: 'sh', args: ['-c', 'cat > /dev/null; env'], notInstalled: () => new Error('no sh') };
      const out = (await collect(handle, { program: showEnv, state: complete, signal: new AbortController().signal })).toString();
      expect(out).toMatch(/^PATH=/m);
      expect(out).not.toContain('secret-token');
      expect(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('=')[0])
          .filter((n) => !/^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|PWD|SHLVL|_)$/.test(n)),
      ).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.SLACK_WEBHOOK_URL;
      else process.env.SLACK_WEBHOOK_URL = saved;
    }
    await handle.close();
  });

  it('fails, rather than start it again forever, when the program exits without reading its input', async () => {
    const handle = await fs.promises.open(file, 'r');
    const lazy: CompressorProgram = { command: 'true', args: [], notInstalled: () => new Error('no true') };
    await expect(collect(handle, { program: lazy, state: complete, signal: new AbortController().signal })).rejects.toThrow(
      'true failed (exit code 0): it stopped at byte 0 of its input without reading on',
    );
    await handle.close();
  });

  it('kills the program at once when cancelled', async () => {
    const handle = await fs.promises.open(file, 'r');
    const pidFile = path.join(dir, 'slow.pid');
    const slow: CompressorProgram = { command: 'sh', args: ['-c', `echo $$ > ${pidFile}; exec sleep 30`], notInstalled: () => new Error('no sh') };
    const abort = new AbortController();
    const running = collect(handle, { program: slow, state: complete, signal: abort.signal });
    while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, 'utf8') === '') await new Promise((r) => setTimeout(r, 10));
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    const started = Date.now();
    abort.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(() => process.kill(pid, 0)).toThrow();
    await handle.close();
  });
});
