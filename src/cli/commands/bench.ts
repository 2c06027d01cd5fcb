import { InvalidArgumentError, type Command } from 'commander';
import { withOptionsHelp, EXIT, type CliContext, type Runner } from '../program';

interface BenchFlags {
  scale?: string;
  rounds?: string;
  textMb?: string;
  level?: string;
  tinyRuns?: string;
  worker?: string;
  json?: string;
}

export function defineBench(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('bench')
      .summary('measure a backup through the workflow against pg_dump | gzip and pigz')
      .description(
        'Starts its own throwaway PostgreSQL (pgbench plus realistic text) and Temporal dev server, runs the worker as production does, then alternates the backupDatabase workflow, `pg_dump | gzip`, `pg_dump | pigz` (when installed) and a streamed floor, and prints wall and CPU time, sizes, memory and the targets. Flags override the BENCH_* variables.',
      )
      .option('--scale <n>', 'pgbench scale (BENCH_SCALE)', number)
      .option('--rounds <n>', 'rounds of each method (BENCH_ROUNDS)', number)
      .option('--text-mb <n>', 'MB of realistic text (BENCH_TEXT_MB; default 5 × scale)', number)
      .option('--level <n>', 'gzip level (BACKUP_GZIP_LEVEL)', number)
      .option('--tiny-runs <n>', 'runs on a tiny database, for the Temporal overhead (BENCH_TINY_RUNS)', number)
      .option('--worker <kind>', 'compiled (as production) or tsx (BENCH_WORKER)')
      .option('--json <file>', 'also write the figures as JSON (BENCH_JSON)'),
    'bench',
  ).action((flags: BenchFlags) =>
    run('bench', async () => {
      const [{ runBench }, { OPTIONS, option }] = await Promise.all([import('../../bench/bench'), import('../../config/registry')]);
      // A flag is read by the same rule as its variable, so `--level 11` fails as BACKUP_GZIP_LEVEL=11 would.
      const pick = <N extends keyof typeof OPTIONS>(name: N, flag: string | undefined) =>
        flag === undefined ? option(ctx.env, name) : OPTIONS[name].read(flag, name);
      const scale = pick('BENCH_SCALE', flags.scale) as number;
      await runBench(
        {
          scale,
          rounds: pick('BENCH_ROUNDS', flags.rounds) as number,
          textMb: (pick('BENCH_TEXT_MB', flags.textMb) as number | undefined) ?? 5 * scale,
          level: pick('BACKUP_GZIP_LEVEL', flags.level) as number,
          tinyRuns: pick('BENCH_TINY_RUNS', flags.tinyRuns) as number,
          worker: pick('BENCH_WORKER', flags.worker) as 'compiled' | 'tsx',
          json: pick('BENCH_JSON', flags.json) as string | undefined,
          verify: option(ctx.env, 'BENCH_VERIFY'),
          workerLog: option(ctx.env, 'BENCH_WORKER_LOG'),
        },
        ctx.env,
      );
      return EXIT.ok;
    }),
  );
}

function number(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a number');
  return value;
}
