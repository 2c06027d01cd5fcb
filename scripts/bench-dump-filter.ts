import fs from 'node:fs';
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DumpFilter, DumpFilterStream } from '../src/postgres/dump-filter';

/**
 * Throughput of the dump filter on a plain pg_dump file: `npx tsx scripts/bench-dump-filter.ts dump.sql`.
 * Prints MB/s of a file → filter → /dev/null pipeline next to the same pipeline with a
 * PassThrough, and of the filter alone over the file in memory (CPU only).
 */
async function viaPipeline(file: string, make: () => Transform, readSize: number): Promise<number> {
  const started = process.hrtime.bigint();
  await pipeline(fs.createReadStream(file, { highWaterMark: readSize }), make(), fs.createWriteStream('/dev/null'));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function inMemory(bytes: Buffer, chunk: number): number {
  const filter = new DumpFilter();
  let out = 0;
  const started = process.hrtime.bigint();
  for (let at = 0; at < bytes.length; at += chunk) filter.write(bytes.subarray(at, at + chunk), (b) => (out += b.length));
  filter.end((b) => (out += b.length));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx scripts/bench-dump-filter.ts <plain pg_dump file>');
  const size = fs.statSync(file).size;
  const rate = (seconds: number) => `${Math.round(size / 1e6 / seconds)} MB/s`;
  console.log(`${file}: ${(size / 1e6).toFixed(0)} MB`);
  for (const readSize of [64 << 10, 1 << 20]) {
    const plain = await viaPipeline(file, () => new PassThrough(), readSize);
    const filtered = await viaPipeline(file, () => new DumpFilterStream(), readSize);
    console.log(`pipeline, ${readSize >> 10} KiB reads: PassThrough ${rate(plain)}, filter ${rate(filtered)}`);
  }
  if (size < 2 ** 31) {
    const bytes = fs.readFileSync(file);
    for (const chunk of [64 << 10, 1 << 20]) console.log(`in memory, ${chunk >> 10} KiB chunks: filter ${rate(inMemory(bytes, chunk))}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
