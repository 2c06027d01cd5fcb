import { pipeline } from 'node:stream/promises';
import { createParallelGzip } from '../compression/parallel-gzip';

/**
 * `tsx src/bench/gzip-filter.ts [-1…-9] < in > out.gz`: the parallel gzip as a filter, like
 * `pigz -c`. Used by the bench to measure compressing while dumping
 * (`pg_dump | … > file.sql.gz`).
 */
async function main(): Promise<void> {
  const arg = process.argv[2] ?? '-6';
  const match = /^-([1-9])$/.exec(arg);
  if (!match) {
    console.error('usage: gzip-cli.ts [-1…-9] < input > output.gz');
    process.exit(2);
  }
  await pipeline(process.stdin, createParallelGzip({ level: Number(match[1]) }), process.stdout);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
