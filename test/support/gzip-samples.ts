import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createParallelGzip, type ParallelGzipOptions } from '../../src/compression/parallel-gzip';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Deterministic, realistic pg_dump-like COPY text (ids, amounts, timestamps, cities, prose). */
export function sqlText(bytes: number, seed = 1): Buffer {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const words = (
    'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all ' +
    'were we when your can said there use an each which she do how their if will up other about out many then them these so some her would ' +
    'make like him into time has look two more write go see number no way could people my than first water been call who its now find long ' +
    'down day did get come made may part order invoice shipped refund größe 좋아요 très bien'
  ).split(' ');
  const cities = ['Seoul', 'München', 'São Paulo', 'Kraków', '東京', 'Berlin', 'Paris', 'New York'];
  const lines: string[] = ['COPY public.orders (id, customer_id, total, city, created_at, note) FROM stdin;'];
  let length = lines[0].length + 1;
  for (let id = 1; length < bytes; id++) {
    const note = Array.from({ length: 3 + Math.floor(rand() * 12) }, () => pick(words)).join(' ');
    const day = `2025-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
    const line = `${id}\t${1 + Math.floor(rand() * 100_000)}\t${(rand() * 1000).toFixed(2)}\t${pick(cities)}\t${day} ${String(Math.floor(rand() * 24)).padStart(2, '0')}:${String(Math.floor(rand() * 60)).padStart(2, '0')}:00+00\t${note}`;
    lines.push(line);
    length += Buffer.byteLength(line) + 1;
  }
  return Buffer.from(lines.join('\n') + '\n').subarray(0, bytes);
}

/** Feeds `data` in chunks of `chunk` bytes (odd sizes exercise the block cutting). */
export async function gzipBuffer(data: Buffer, options: ParallelGzipOptions, chunk = 7919): Promise<Buffer> {
  const parts: Buffer[] = [];
  const source = (function* () {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  })();
  await pipeline(Readable.from(source), createParallelGzip(options), new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
  return Buffer.concat(parts);
}

export function hasPigz(): boolean {
  try {
    execFileSync('pigz', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The gzip tool's own verdict and its decompression of `gz`. */
export function gunzipWithTool(gz: Buffer): Buffer {
  const file = path.join(os.tmpdir(), `t-${randomBytes(4).toString('hex')}.gz`);
  fs.writeFileSync(file, gz);
  try {
    execFileSync('gzip', ['-t', file]);
    return execFileSync('gunzip', ['-c', file], { maxBuffer: 256 * MiB });
  } finally {
    fs.rmSync(file, { force: true });
  }
}
