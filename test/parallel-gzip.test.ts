import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCompress } from '../src/activities/compress';
import { createParallelGzip, gzipChunks } from '../src/compression/parallel-gzip';
import type { CompressOutput } from '../src/common/types';
import { loadWorkerConfig } from '../src/config';
import { freshDemoDatabase, restoreWithPsql, tableFingerprints } from './support/database';

import { KiB, MiB, gunzipWithTool, gzipBuffer, hasPigz, sqlText } from './support/gzip-samples';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-pgzip-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('parallel gzip: ratio', () => {
  it('is within 1% of gzip -6 on SQL-like text', async () => {
    const input = sqlText(24 * MiB, 42);
    const file = path.join(tmp, 'ratio.sql');
    fs.writeFileSync(file, input);
    const gzip6 = execFileSync('gzip', ['-6', '-c', file], { maxBuffer: 64 * MiB }).length;
    const ours = await gzipBuffer(input, { level: 6 }, 64 * KiB);
    expect(gunzipWithTool(ours).equals(input)).toBe(true);
    const pigz6 = hasPigz() ? execFileSync('pigz', ['-6', '-c', file], { maxBuffer: 64 * MiB }).length : undefined;
    console.log(
      `ratio: ${input.length} bytes → gzip -6 ${gzip6}, pigz -6 ${pigz6 ?? 'n/a'}, parallel-gzip ${ours.length} (${((ours.length / gzip6) * 100).toFixed(2)}% of gzip -6)`,
    );
    expect(ours.length).toBeLessThanOrEqual(gzip6 * 1.01);
  });
});

describe('parallel gzip: memory', () => {
  it('keeps a fixed number of blocks in memory when the reader is slow (backpressure)', async () => {
    const blockSize = 64 * KiB;
    const inFlight = 3;
    let produced = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 1000; i++) {
          produced += 16 * KiB;
          yield randomBytes(16 * KiB);
        }
      })(),
    );
    const gz = createParallelGzip({ blockSize, inFlight });
    source.pipe(gz);
    const parts: Buffer[] = [];
    // Read the first chunk (the header), then stop reading for a second.
    await new Promise<void>((r) =>
      gz.once('data', (c: Buffer) => {
        gz.pause();
        parts.push(c);
        r();
      }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    // In flight, plus the block being filled, plus a few chunks in the two stream buffers.
    expect(produced).toBeLessThanOrEqual((inFlight + 3) * blockSize);
    expect(produced).toBeGreaterThanOrEqual(inFlight * blockSize);
    // Now drain it: everything arrives and is valid.
    gz.on('data', (c: Buffer) => parts.push(c));
    gz.resume();
    await new Promise((r) => gz.once('end', r));
    expect(produced).toBe(1000 * 16 * KiB);
    expect(zlib.gunzipSync(Buffer.concat(parts)).length).toBe(produced);
  });

  it('streams 384 MiB generated on the fly with bounded RSS, and gzip -t accepts it', async () => {
    const total = 384 * MiB;
    const pool = sqlText(4 * MiB + 64 * KiB, 99); // offsets vary, so nothing repeats within deflate's 32 KiB window
    let s = 5;
    const source = Readable.from(
      (function* () {
        for (let sent = 0; sent < total; sent += MiB) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          yield pool.subarray(s % (4 * MiB), (s % (4 * MiB)) + MiB);
        }
      })(),
    );
    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    let peakBuffers = base.arrayBuffers;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    }, 20);
    const checker = spawn('gzip', ['-t'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    checker.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => checker.on('close', r));
    const started = Date.now();
    let bytesOut = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of gzipChunks(chunks, { level: 1 })) {
            bytesOut += c.length;
            yield c;
          }
        },
        checker.stdin,
      );
    } finally {
      clearInterval(sampler);
    }
    expect(await exited, stderr).toBe(0);
    const rssGrowth = (peakRss - base.rss) / MiB;
    const heapGrowth = (peakHeap - base.heapUsed) / MiB;
    const buffersGrowth = (peakBuffers - base.arrayBuffers) / MiB;
    console.log(
      `384 MiB → ${(bytesOut / MiB).toFixed(1)} MiB in ${Date.now() - started} ms; growth: RSS ${rssGrowth.toFixed(1)} MiB, JS heap ${heapGrowth.toFixed(1)} MiB, Buffers ${buffersGrowth.toFixed(1)} MiB`,
    );
    expect(bytesOut).toBeGreaterThan(32 * MiB);
    expect(rssGrowth).toBeLessThan(96);
    expect(heapGrowth).toBeLessThan(64);
    expect(buffersGrowth).toBeLessThan(96);
  }, 60_000);
});

describe('compress activity', () => {
  const config = () => loadWorkerConfig({ DATABASE_URL: 'postgresql://u@127.0.0.1:1/db', BACKUP_DIR: tmp, BACKUP_GZIP_LEVEL: '6', PATH: process.env.PATH });
  // Given a finished dump, compress always returns the file.
  const compressFile = () => makeCompress(config()) as (input: { sqlPath: string }) => Promise<CompressOutput>;

  it('turns a real pg_dump into a 0600 .sql.gz that zcat | psql restores, removes the .sql, and heartbeats progress', async () => {
    const source = await freshDemoDatabase('pgzip');
    const sqlPath = path.join(tmp, `${source.name}.sql`);
    execFileSync('sh', ['-c', 'pg_dump --format=plain --dbname="$1" > "$2"', 'dump', source.url, sqlPath]);
    const bytes = fs.statSync(sqlPath).size;

    const env = new MockActivityEnvironment();
    const beats: Array<{ step: string; bytesIn: number; totalIn: number }> = [];
    env.on('heartbeat', (d) => beats.push(d));
    const out: CompressOutput = await env.run(compressFile(), { sqlPath });

    expect(out).toMatchObject({ path: `${sqlPath}.gz`, fileName: `${source.name}.sql.gz`, bytesIn: bytes });
    expect(out.bytesOut).toBe(fs.statSync(out.path).size);
    expect(fs.statSync(out.path).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(sqlPath)).toBe(false);
    expect(fs.existsSync(`${out.path}.part`)).toBe(false);
    expect(beats[0]).toEqual({ step: 'compress', bytesIn: 0, totalIn: bytes });

    execFileSync('gzip', ['-t', out.path]);
    const restored = await restoreWithPsql(out.path, `${source.name}_restored`);
    expect(await tableFingerprints(restored)).toEqual(await tableFingerprints(source.url));
  });

  it('stops when cancelled: no .gz, no .part, the .sql is kept', async () => {
    const sqlPath = path.join(tmp, 'cancel_me.sql');
    fs.writeFileSync(sqlPath, sqlText(48 * MiB, 3));
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (d: { bytesIn: number }) => {
      if (d.bytesIn === 0) setTimeout(() => env.cancel(), 150);
    });
    const started = Date.now();
    const result = env.run(compressFile(), { sqlPath });
    await expect(result).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fs.existsSync(`${sqlPath}.gz`)).toBe(false);
    expect(fs.existsSync(`${sqlPath}.gz.part`)).toBe(false);
    expect(fs.existsSync(sqlPath)).toBe(true);
  });
});
