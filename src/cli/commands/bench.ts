import { InvalidArgumentError, type Command } from 'commander';
import { withOptionsHelp, EXIT, type CliContext, type Runner } from '../program';

interface BenchFlags {
  shape?: string;
  size?: string;
  rounds?: string;
  methods?: string;
  level?: string;
  tinyRuns?: string;
  worker?: string;
  json?: string;
}

export function defineBench(program: Command, ctx: CliContext, run: Runner): void {
  withOptionsHelp(
    program
      .command('bench')
      .summary('measure backups through the workflow, verified and not, against pg_dump | pigz, gzip and zstd, per data shape')
      .description(
        "Starts its own throwaway PostgreSQL (a database per data shape) and Temporal dev server, runs the workers as production does, then, per shape, alternates within each round the unverified and the verified workflow, the restore alone, `pg_dump | pigz -6`, `pg_dump | gzip -6`, the zstd workflow and `pg_dump | zstd -3 -T0`, and prints wall and CPU time (the server's too), sizes, the verified workflow's floor term by term, memory, Temporal's overhead and the targets as ratios taken within each round. Flags override the BENCH_* variables.",
      )
      .option('--shape <shapes>', 'pgbench, text, bytea, comma-separated (BENCH_SHAPE)')
      .option('--size <fraction>', "each shape's database as a fraction of a ~1 GB plain dump (BENCH_SIZE)", number)
      .option('--rounds <n>', 'rounds of each method (BENCH_ROUNDS)', number)
      .option('--methods <methods>', 'what to run in each round (BENCH_METHODS)')
      .option('--level <n>', 'gzip level (BACKUP_GZIP_LEVEL)', number)
      .option('--tiny-runs <n>', 'runs on a tiny database, for the Temporal overhead (BENCH_TINY_RUNS)', number)
      .option('--worker <kind>', 'compiled (as production) or tsx (BENCH_WORKER)')
      .option('--json <file>', 'also write the figures as JSON (BENCH_JSON)'),
    'bench',
  ).action((flags: BenchFlags) =>
    run('bench', async () => {
      const [{ runBench, DEFAULT_METHODS }, { OPTIONS, option }] = await Promise.all([import('../../bench/bench'), import('../../config/registry')]);
      // A flag is read by the same rule as its variable, so `--level 11` fails as BACKUP_GZIP_LEVEL=11 would.
      const pick = <N extends keyof typeof OPTIONS>(name: N, flag: string | undefined) =>
        flag === undefined ? option(ctx.env, name) : OPTIONS[name].read(flag, name);
      await runBench(
        {
          shapes: ((pick('BENCH_SHAPE', flags.shape) as string[] | undefined) ?? ['pgbench', 'text', 'bytea']) as Array<'pgbench' | 'text' | 'bytea'>,
          size: pick('BENCH_SIZE', flags.size) as number,
          rounds: pick('BENCH_ROUNDS', flags.rounds) as number,
          methods: (pick('BENCH_METHODS', flags.methods) as typeof DEFAULT_METHODS | undefined) ?? DEFAULT_METHODS,
          level: pick('BACKUP_GZIP_LEVEL', flags.level) as number,
          tinyRuns: pick('BENCH_TINY_RUNS', flags.tinyRuns) as number,
          worker: pick('BENCH_WORKER', flags.worker) as 'compiled' | 'tsx',
          json: pick('BENCH_JSON', flags.json) as string | undefined,
          workerLog: option(ctx.env, 'BENCH_WORKER_LOG'),
          maintenanceWorkMem: option(ctx.env, 'BACKUP_VERIFY_MAINTENANCE_WORK_MEM'),
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
