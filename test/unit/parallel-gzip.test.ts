import { afterAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createParallelGzip, gzipChunks, outputSize } from '../../src/compression/parallel-gzip';
import { followFile } from '../../src/files/follow-file';
import { KiB, MiB, gunzipWithTool, gzipBuffer, sqlText } from '../support/gzip-samples';

describe('parallel gzip: round trips', () => {
  const blockSize = 64 * KiB;
  const sizes = [0, 1, blockSize - 1, blockSize, blockSize + 1, 2 * blockSize, 3 * blockSize + 12345];
  const kinds = {
    random: (n: number) => randomBytes(n),
    sql: (n: number) => sqlText(n),
    zeros: (n: number) => Buffer.alloc(n),
  };

  for (const [kind, make] of Object.entries(kinds)) {
    it.each(sizes)(`${kind}, %i bytes, 64 KiB blocks: gunzip, gzip -t and zlib.gunzip all read it back`, async (size) => {
      const input = make(size);
      for (const chunk of [7919, blockSize, 1 << 20]) {
        const gz = await gzipBuffer(input, { blockSize, level: 6 }, chunk);
        expect(gz.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
        expect(zlib.gunzipSync(gz).equals(input)).toBe(true);
        expect(gunzipWithTool(gz).equals(input)).toBe(true);
      }
    });
  }

  it.each([MiB - 1, MiB, MiB + 1, 2 * MiB])('default 1 MiB blocks, %i bytes of SQL text', async (size) => {
    const input = sqlText(size, 7);
    const gz = await gzipBuffer(input, {}, 65_536);
    expect(gunzipWithTool(gz).equals(input)).toBe(true);
  });

  it.each([1, 2, 5, 9])('level %i, one block in flight and several', async (level) => {
    const input = sqlText(600 * KiB, level);
    for (const inFlight of [1, 4]) {
      const gz = await gzipBuffer(input, { level, blockSize: 64 * KiB, inFlight });
      expect(zlib.gunzipSync(gz).equals(input)).toBe(true);
    }
  });

  it('accepts strings and Uint8Arrays as input chunks', async () => {
    const parts: Buffer[] = [];
    await pipeline(
      Readable.from(['héllo ', new Uint8Array([0x77, 0x6f, 0x72, 0x6c, 0x64])]),
      createParallelGzip({ blockSize: 32 * KiB }),
      new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }),
    );
    expect(zlib.gunzipSync(Buffer.concat(parts)).toString()).toBe('héllo world');
  });

  it('rejects bad options', () => {
    expect(() => createParallelGzip({ level: 0 })).toThrow(/level/);
    expect(() => createParallelGzip({ level: 10 })).toThrow(/level/);
    expect(() => createParallelGzip({ blockSize: 1000 })).toThrow(/blockSize/);
    expect(() => createParallelGzip({ inFlight: 0 })).toThrow(/inFlight/);
  });

  it('passes a source error on', async () => {
    const source = new Readable({ read() {} });
    const done = pipeline(source, createParallelGzip(), new Writable({ write: (_c, _e, cb) => cb() }));
    source.push(sqlText(3 * MiB));
    source.destroy(new Error('disk on fire'));
    await expect(done).rejects.toThrow('disk on fire');
  });
});

describe('parallel gzip: cancellation', () => {
  it('ends at once when its pipeline is aborted while it waits for input (a cancelled compress must not hang)', async () => {
    const controller = new AbortController();
    // A source that gave a little and then waits, as pg_dump does between writes.
    const source = new Readable({ read() {} });
    source.push(randomBytes(100 * KiB));
    const done = pipeline(source, createParallelGzip(), new Writable({ write: (_c, _e, cb) => cb() }), { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    controller.abort();
    await expect(done).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('parallel gzip: zlib output sized from the previous block', () => {
  it('starts at the worst case, then follows the last block with a quarter to spare, never below 64 KiB or above the bound', () => {
    const bound = outputSize(MiB, undefined);
    expect(bound).toBeGreaterThan(MiB);
    expect(outputSize(MiB, 200_000)).toBe(Math.ceil((200_000 * 1.25) / 4096) * 4096);
    expect(outputSize(MiB, 1000)).toBe(64 * KiB);
    expect(outputSize(MiB, MiB)).toBe(bound);
  });

  it('round-trips when a block compresses far worse than the one before (zlib then needs a second buffer)', async () => {
    const input = Buffer.concat([Buffer.alloc(MiB), randomBytes(MiB), Buffer.alloc(MiB), randomBytes(MiB + 7)]);
    const gz = await gzipBuffer(input, {}, 65_536);
    expect(zlib.gunzipSync(gz).equals(input)).toBe(true);
  });
});

describe('parallel gzip fed by a follower that reuses its read buffer', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-gzip-follow-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('compresses exactly what was written: gzipChunks is done with a chunk before it asks for the next', async () => {
    const input = sqlText(5 * MiB + 4321, 11);
    const file = path.join(dir, 'whole.sql');
    fs.writeFileSync(file, input);
    const handle = await fs.promises.open(file, 'r');
    const seen = new Set<ArrayBufferLike>();
    const source = followFile(handle, { state: () => 'complete', chunkSize: 256 * KiB, pollMs: 5, signal: new AbortController().signal, reuseBuffer: true });
    const spy = async function* () {
      for await (const chunk of source) {
        seen.add(chunk.buffer);
        yield chunk;
      }
    };
    const parts: Buffer[] = [];
    for await (const piece of gzipChunks(spy(), { blockSize: 64 * KiB })) parts.push(piece);
    await handle.close();
    expect(seen.size).toBe(1); // one read buffer for the whole file
    expect(zlib.gunzipSync(Buffer.concat(parts)).equals(input)).toBe(true);
  });

  it('ends at once when its pipeline is aborted while the follower waits for the writer', async () => {
    const file = path.join(dir, 'growing.sql');
    fs.writeFileSync(file, sqlText(300 * KiB, 2));
    const handle = await fs.promises.open(file, 'r');
    const controller = new AbortController();
    const source = followFile(handle, { state: () => 'writing', chunkSize: MiB, pollMs: 20, signal: controller.signal, reuseBuffer: true });
    const done = pipeline(gzipChunks(source), new Writable({ write: (_c, _e, cb) => cb() }), { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    controller.abort();
    await expect(done).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(1000);
    await handle.close();
  });
});
