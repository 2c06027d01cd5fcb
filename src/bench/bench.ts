/**
 * `pg-backup-workflow bench [--scale N] [--rounds R] [--text-mb M] [--level L] [--tiny-runs T] [--worker tsx|compiled] [--json FILE]`
 *
 * How fast is a backup through the workflow compared with the old `pg_dump | gzip -6` (and
 * `pg_dump | pigz -6` when pigz is installed)? Everything is throwaway and local:
 *  - a PostgreSQL cluster with a database of `pgbench -i -s N` plus a table of realistic text
 *    (M MB of COPY text, default 5 MB per scale unit: scale 130 gives a ~2 GB plain dump), and a
 *    tiny database for the Temporal overhead;
 *  - an embedded Temporal dev server;
 *  - a backup worker in a child process, built as production runs it (`npm run build`: tsc's
 *    JavaScript plus the prebuilt workflow bundle; `--worker tsx` runs src/worker.ts through tsx
 *    instead, bundling at start), so its peak RSS (VmHWM) can be read from /proc.
 * Then R rounds of: the backupDatabase workflow (dump with compress beside it, then stat;
 * notify is skipped without SLACK_WEBHOOK_URL), `pg_dump | gzip -6 > file`, `pg_dump | pigz -6 > file`,
 * and, as a floor, the same compressor fed straight from pg_dump with no file and no Temporal in
 * between, `pg_dump | src/bench/gzip-filter.ts -6 > file`.
 * Flags may also come from BENCH_SCALE, BENCH_ROUNDS, BENCH_TEXT_MB, BACKUP_GZIP_LEVEL,
 * BENCH_TINY_RUNS, BENCH_WORKER, BENCH_JSON; BENCH_WORKER_LOG=FILE keeps the worker's log; BENCH_VERIFY=true
 * keeps the worker's restore check (BACKUP_VERIFY), which the bench turns off by default.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import pg from 'pg';
import type { Env } from '../config/registry';
import { PROJECT_ROOT } from '../dev/paths';
import { findPgBinDir, startThrowawayCluster, withDatabase, type ThrowawayCluster } from '../dev/postgres-cluster';
import { findTemporalCli, startEmbeddedTemporal, type EmbeddedTemporal } from '../dev/temporal-server';

const ROOT = PROJECT_ROOT;
const MB = 1e6;

export interface BenchOptions {
  scale: number;
  rounds: number;
  textMb: number;
  level: number;
  tinyRuns: number;
  json?: string;
  /** `compiled` (default): `npm run build`'s output, as production runs it; `tsx`: src/worker.ts through tsx (as `npm run worker`). */
  worker: 'tsx' | 'compiled';
  /** Keep the worker's restore check (BACKUP_VERIFY); off by default. */
  verify: boolean;
  /** Keep the worker's log in this file. */
  workerLog?: string;
}

interface Memory {
  startupPeakMb: number;
  idleMb: number;
  tinyPeakMb?: number;
  beforeBigMb?: number;
  bigPeakMb?: number;
}

interface Run {
  method: 'workflow' | 'gzip' | 'pigz' | 'stream' | 'pg_dump only';
  round: number;
  wallS: number;
  cpuS: number;
  bytesOut: number;
  load1: number;
  steps?: Record<string, number>;
  overheadS?: number;
}

export async function runBench(options: BenchOptions, env: Env): Promise<void> {
  const bin = findPgBinDir(env);
  const pigz = commandExists('pigz');
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((err) => console.error('cleanup:', err));
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  const say = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
  say(
    `bench: scale ${options.scale}, text ${options.textMb} MB, ${options.rounds} round(s), gzip level ${options.level}, ${options.worker} worker, ${os.availableParallelism()} cores, load ${loadAvgText()}`,
  );
  try {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-bench-'));
    cleanups.push(() => fs.rmSync(work, { recursive: true, force: true }));
    const backupDir = path.join(work, 'backups');
    fs.mkdirSync(backupDir, { mode: 0o700 });

    say('starting a throwaway PostgreSQL…');
    const cluster: ThrowawayCluster = await startThrowawayCluster({ env });
    cleanups.push(() => cluster.stop());
    const pgEnv = { ...env, PGPASSWORD: cluster.password };
    const safeUrl = (db: string) => {
      const u = new URL(withDatabase(cluster.adminUrl, db));
      u.password = '';
      return u.toString();
    };
    const admin = async (sql: string) => {
      const c = new pg.Client({ connectionString: cluster.adminUrl });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    };
    await admin('CREATE DATABASE bench');
    await admin('CREATE DATABASE bench_tiny');
    const dbUrl = safeUrl('bench');
    const tinyUrl = safeUrl('bench_tiny');

    say(`pgbench -i -s ${options.scale}…`);
    let t = Date.now();
    execFileSync(path.join(bin, 'pgbench'), ['-i', '-s', String(options.scale), '-I', 'dtGvp', '-q', dbUrl], {
      env: pgEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    say(`  done in ${secs(Date.now() - t)} s; loading ${options.textMb} MB of text…`);
    t = Date.now();
    await loadText(bin, dbUrl, pgEnv, options.textMb * MB);
    execFileSync(path.join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', tinyUrl, '-c', TINY_SQL], {
      env: pgEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Write the freshly loaded data out now, so no backup's fsync waits for gigabytes of it.
    execFileSync('sync');
    say(`  done in ${secs(Date.now() - t)} s (incl. sync)`);

    const pgDump = path.join(bin, 'pg_dump');
    const dumpCmd = `"${pgDump}" --format=plain --no-password --dbname="$DB_URL"`;
    const shell = (pipeline: string, out?: string) => timedShell(pipeline, { ...pgEnv, DB_URL: dbUrl, OUT: out ?? '' });

    const runs: Run[] = [];
    say('pg_dump | wc -c (plain size, and pg_dump alone; warms the cache)…');
    const plain = await shell(`${dumpCmd} | wc -c`);
    const plainBytes = Number(plain.stdout.trim());
    runs.push({ method: 'pg_dump only', round: 0, wallS: plain.wallS, cpuS: plain.cpuS, bytesOut: plainBytes, load1: plain.load1 });
    say(`  plain dump ${(plainBytes / MB).toFixed(0)} MB in ${plain.wallS.toFixed(1)} s`);

    say('starting an embedded Temporal dev server…');
    const temporal: EmbeddedTemporal = await startEmbeddedTemporal({ cliPath: findTemporalCli(env) });
    cleanups.push(() => temporal.stop());

    let entry = ['--import', 'tsx', 'src/worker.ts'];
    if (options.worker === 'compiled') {
      // Inside the project, so the compiled files find node_modules.
      const outDir = fs.mkdtempSync(path.join(ROOT, '.run', 'bench-lib-'));
      cleanups.push(() => fs.rmSync(outDir, { recursive: true, force: true }));
      say('building the worker as `npm run build` does (tsc, then the workflow bundle beside it)…');
      execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: ROOT, stdio: 'inherit' });
      execFileSync(process.execPath, [path.join(outDir, 'cli', 'build-workflow-bundle.js')], { cwd: ROOT, stdio: 'ignore' });
      // With the node flags the `worker:compiled` script gives it.
      entry = [...compiledWorkerFlags(), path.join(outDir, 'worker.js')];
    }
    const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
    const worker = await startWorker(entry, options.workerLog, {
      ...withoutVariables(env, /^(SLACK_WEBHOOK_URL|DATABASE_URL.*|BACKUP_.*|TEMPORAL_.*)$/),
      DATABASE_URL: dbUrl,
      // One variable per tiny run: labels must differ (file names carry the label and the second).
      ...Object.fromEntries(Array.from({ length: options.tinyRuns }, (_, i) => [`DATABASE_URL_TINY_${i + 1}`, tinyUrl])),
      PGPASSWORD: cluster.password,
      TEMPORAL_ADDRESS: temporal.address,
      BACKUP_DIR: backupDir,
      BACKUP_TASK_QUEUE: taskQueue,
      BACKUP_GZIP_LEVEL: String(options.level),
      BACKUP_PG_DUMP: pgDump,
      BACKUP_ACTIVITY_TIMEOUT: '2h',
      BACKUP_HEARTBEAT_TIMEOUT: '60s',
      // The issue's pipeline is dump, compress, stat: leave out the restore check (measured on its own terms elsewhere).
      BACKUP_VERIFY: String(options.verify),
    });
    cleanups.push(() => worker.stop());
    const memory: Memory = { startupPeakMb: vmKb(worker.pid, 'VmHWM') / 1024, idleMb: vmKb(worker.pid, 'VmRSS') / 1024 };
    say(`worker pid ${worker.pid} ready: RSS ${memory.idleMb.toFixed(0)} MB, peak so far (start-up) ${memory.startupPeakMb.toFixed(0)} MB`);
    const canResetPeak = resetPeak(worker.pid);

    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });
    let seq = 0;
    /** One backupDatabase run; `label` picks the database (DATABASE_URL_<LABEL>, else DATABASE_URL). */
    const runWorkflow = async (label: string, database: string, round: number): Promise<Run> => {
      const load1 = os.loadavg()[0];
      const cpu0 = cpuSeconds(worker.pid);
      const started = Date.now();
      const handle = await client.workflow.start('backupDatabase', {
        taskQueue,
        workflowId: `bench-${label}-${++seq}-${randomUUID().slice(0, 8)}`,
        args: [label],
      });
      const result = await handle.result();
      if (result.database !== database) throw new Error(`run ${label} backed up ${result.database}, not ${database}`);
      const wallS = (Date.now() - started) / 1000;
      // The pg_dump child's CPU lands in the worker's cutime once it is reaped.
      const cpuS = cpuSeconds(worker.pid) - cpu0;
      const { steps, busyS } = await activityDurations(handle);
      emptyDir(backupDir);
      return { method: 'workflow', round, wallS, cpuS, bytesOut: result.sizeBytes, load1, steps, overheadS: wallS - busyS };
    };

    say(`Temporal overhead: ${options.tinyRuns} backups of a tiny database…`);
    const tiny: Run[] = [];
    for (let i = 1; i <= options.tinyRuns; i++) tiny.push(await runWorkflow(`tiny-${i}`, 'bench_tiny', 0));
    if (canResetPeak) {
      memory.tinyPeakMb = vmKb(worker.pid, 'VmHWM') / 1024;
      memory.beforeBigMb = vmKb(worker.pid, 'VmRSS') / 1024;
      resetPeak(worker.pid);
    }

    for (let round = 1; round <= options.rounds; round++) {
      say(`round ${round}/${options.rounds}: workflow…`);
      runs.push(await runWorkflow(`bench-r${round}`, 'bench', round));
      report(runs.at(-1)!);
      say(`round ${round}/${options.rounds}: pg_dump | gzip -${options.level}…`);
      runs.push(await baseline('gzip', round, `${dumpCmd} | gzip -${options.level} > "$OUT"`));
      report(runs.at(-1)!);
      if (pigz) {
        say(`round ${round}/${options.rounds}: pg_dump | pigz -${options.level}…`);
        runs.push(await baseline('pigz', round, `${dumpCmd} | pigz -${options.level} > "$OUT"`));
        report(runs.at(-1)!);
      }
      // Not a baseline: a floor for the workflow (the same compressor, no .sql on disk, no Temporal).
      say(`round ${round}/${options.rounds}: pg_dump | parallel-gzip (this project's compressor, streamed)…`);
      runs.push(await baseline('stream', round, `${dumpCmd} | "${process.execPath}" --import tsx src/bench/gzip-filter.ts -${options.level} > "$OUT"`));
      report(runs.at(-1)!);
    }
    if (canResetPeak) memory.bigPeakMb = vmKb(worker.pid, 'VmHWM') / 1024;
    say(
      `worker CPU by thread over its life (s): ${Object.entries(threadCpu(worker.pid))
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}`,
    );

    async function baseline(method: 'gzip' | 'pigz' | 'stream', round: number, command: string): Promise<Run> {
      const out = path.join(work, `baseline.${method}.gz`);
      const r = await shell(command, out);
      const bytesOut = fs.statSync(out).size;
      fs.rmSync(out);
      return { method, round, wallS: r.wallS, cpuS: r.cpuS, bytesOut, load1: r.load1 };
    }
    function report(r: Run) {
      const steps = r.steps
        ? ` (${Object.entries(r.steps)
            .map(([k, v]) => `${k} ${v.toFixed(1)}`)
            .join(', ')})`
        : '';
      say(`  ${r.wallS.toFixed(1)} s${steps}, CPU ${r.cpuS.toFixed(1)} s, ${(r.bytesOut / MB).toFixed(1)} MB, load1 ${r.load1.toFixed(2)}`);
    }

    printTables({ options, plainBytes, runs, tiny, memory, pigz });
    if (options.json) {
      fs.writeFileSync(options.json, JSON.stringify({ options, plainBytes, runs, tiny, memory, loadEnd: os.loadavg() }, null, 2));
      say(`results written to ${options.json}`);
    }
  } finally {
    await cleanup();
  }
}

/** The figures, as markdown tables, and the targets from the "Fast backups" issue. */
function printTables(r: { options: BenchOptions; plainBytes: number; runs: Run[]; tiny: Run[]; memory: Memory; pigz: boolean }): void {
  const m = r.memory;
  const by = (m: Run['method']) => r.runs.filter((x) => x.method === m);
  const med = (xs: number[]) => median(xs);
  const wf = by('workflow');
  const wfWall = med(wf.map((x) => x.wallS));
  const gzipWall = med(by('gzip').map((x) => x.wallS));
  const gzipSize = med(by('gzip').map((x) => x.bytesOut));
  const lines: string[] = [];
  lines.push(
    '',
    `### Runs (plain dump ${(r.plainBytes / MB).toFixed(0)} MB: pgbench scale ${r.options.scale} + ${r.options.textMb} MB text; level ${r.options.level})`,
    '',
  );
  lines.push('| round | method | wall s | dump s | compress s | stat s | other steps s | CPU s | output MB | load1 at start |');
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const x of r.runs) {
    const s = x.steps ?? {};
    const f = (v?: number) => (v === undefined ? '' : v.toFixed(1));
    const others = Object.entries(s).filter(([k]) => !['dump', 'compress', 'stat'].includes(k));
    const other = others.length ? `${others.reduce((a, [, v]) => a + v, 0).toFixed(1)} (${others.map(([k]) => k).join(', ')})` : '';
    lines.push(
      `| ${x.round || '–'} | ${label(x.method, r.options.level)} | ${x.wallS.toFixed(1)} | ${f(s.dump)} | ${f(s.compress)} | ${f(s.stat)} | ${other} | ${x.cpuS.toFixed(1)} | ${(x.bytesOut / MB).toFixed(1)} | ${x.load1.toFixed(2)} |`,
    );
  }
  lines.push('', '### Medians', '');
  lines.push('| method | median wall s | workflow ÷ this | output MB | size ÷ gzip | CPU s |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const m of ['workflow', 'gzip', 'pigz', 'stream'] as const) {
    const xs = by(m);
    if (xs.length === 0) continue;
    const wall = med(xs.map((x) => x.wallS));
    const size = med(xs.map((x) => x.bytesOut));
    lines.push(
      `| ${label(m, r.options.level)} | ${wall.toFixed(1)} | ${(wfWall / wall).toFixed(2)} | ${(size / MB).toFixed(1)} | ${(size / gzipSize).toFixed(3)} | ${med(xs.map((x) => x.cpuS)).toFixed(1)} |`,
    );
  }
  const tinyWall = med(r.tiny.map((x) => x.wallS));
  const tinyOverhead = med(r.tiny.map((x) => x.overheadS ?? 0));
  const wfOverhead = med(wf.map((x) => x.overheadS ?? 0));
  lines.push('', '### Worker and Temporal', '');
  const mb = (v?: number) => (v === undefined ? 'n/a' : `${v.toFixed(0)} MB`);
  lines.push(
    `- worker RSS: start-up peak ${mb(m.startupPeakMb)} (tsx bundles the workflow code here; a compiled worker loads its prebuilt bundle), idle after start-up ${mb(m.idleMb)}, peak during the tiny runs ${mb(m.tinyPeakMb)}, RSS before the big runs ${mb(m.beforeBigMb)}, peak during the big runs ${mb(m.bigPeakMb)} (VmHWM, reset between phases)`,
  );
  lines.push(
    `- tiny database, ${r.tiny.length} runs: median wall ${tinyWall.toFixed(2)} s, of which outside activities (Temporal overhead) ${tinyOverhead.toFixed(2)} s`,
  );
  lines.push(`- big database: median time outside activities ${wfOverhead.toFixed(2)} s per run`);
  lines.push(`- load average at the end: ${loadAvgText()} (${os.availableParallelism()} cores)`);

  const pigzWall = by('pigz').length ? med(by('pigz').map((x) => x.wallS)) : undefined;
  const wfSize = med(wf.map((x) => x.bytesOut));
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  lines.push('', '### Targets (meant for a ~2 GB plain dump)', '');
  lines.push(`- workflow ≤ 0.75 × pg_dump | gzip -${r.options.level}: ${(wfWall / gzipWall).toFixed(2)} × — ${check(wfWall <= 0.75 * gzipWall)}`);
  if (pigzWall !== undefined)
    lines.push(`- workflow ≤ 1.15 × pg_dump | pigz -${r.options.level}: ${(wfWall / pigzWall).toFixed(2)} × — ${check(wfWall <= 1.15 * pigzWall)}`);
  lines.push(`- output ≤ 1.01 × gzip -${r.options.level}: ${(wfSize / gzipSize).toFixed(3)} × — ${check(wfSize <= 1.01 * gzipSize)}`);
  if (m.bigPeakMb !== undefined)
    lines.push(
      `- worker peak RSS ≤ 256 MB while backing up: ${mb(m.bigPeakMb)} — ${check(m.bigPeakMb <= 256)} (growth over its RSS before the big runs: ${mb(m.bigPeakMb - (m.beforeBigMb ?? 0))}; compare scales for "no higher at 100 than at 10")`,
    );
  lines.push(`- Temporal overhead on a tiny database < 1 s: ${tinyOverhead.toFixed(2)} s — ${check(tinyOverhead < 1)}`);
  if (by('stream').length) {
    const streamWall = med(by('stream').map((x) => x.wallS));
    const vsPigz = pigzWall === undefined ? '' : `, ${(streamWall / pigzWall).toFixed(2)} × pigz`;
    lines.push(
      `- for comparison, the compressor streamed straight from pg_dump (pg_dump | parallel-gzip): ${(streamWall / gzipWall).toFixed(2)} × gzip${vsPigz}`,
    );
  }
  console.log(lines.join('\n'));
}

/** The method's name for a markdown table cell (pipes escaped). */
function label(m: Run['method'], level: number): string {
  if (m === 'workflow') return 'backupDatabase workflow';
  if (m === 'pg_dump only') return 'pg_dump \\| wc -c';
  if (m === 'stream') return `pg_dump \\| parallel-gzip -${level} (streamed; not the workflow)`;
  return `pg_dump \\| ${m} -${level}`;
}

/** Loads `bytes` of realistic text (names, cities, timestamps, amounts, prose) through psql's COPY. */
async function loadText(bin: string, url: string, env: NodeJS.ProcessEnv, bytes: number): Promise<void> {
  execFileSync(path.join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', TEXT_TABLE_SQL], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (bytes <= 0) return;
  const psql = spawn(path.join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', '\\copy bench_notes FROM STDIN'], {
    env,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const exited = once(psql, 'close');
  let seed = 20251026;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  let written = 0;
  for (let id = 1; written < bytes;) {
    let chunk = '';
    while (chunk.length < 1 << 20) {
      const words = Array.from({ length: 4 + Math.floor(rand() * 30) }, () => pick(WORDS)).join(' ');
      const when = new Date(Date.UTC(2024, 0, 1) + Math.floor(rand() * 700 * 86_400_000)).toISOString();
      chunk += `${id}\t${pick(FIRST)} ${pick(LAST)}\t${pick(FIRST).toLowerCase()}.${Math.floor(rand() * 9999)}@example.com\t${pick(CITIES)}\t${when}\t${(rand() * 5000).toFixed(2)}\t${pick(STATUS)}\t${words}\n`;
      id++;
    }
    const buf = Buffer.from(chunk);
    written += buf.length;
    if (!psql.stdin!.write(buf)) await once(psql.stdin!, 'drain');
  }
  psql.stdin!.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`psql \\copy exited with ${code}`);
}

const TEXT_TABLE_SQL = `CREATE TABLE bench_notes (id bigint PRIMARY KEY, name text, email text, city text, created_at timestamptz, amount numeric(12,2), status text, body text)`;
const TINY_SQL = `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'row ' || i FROM generate_series(1, 100) AS i;`;
const FIRST = ['Jürgen', 'Min-jun', 'Zoë', 'Taro', 'Olga', 'Maria', 'John', 'Aisha', 'Wei', 'Lucas', 'Sofia', 'Noah'] as const;
const LAST = ['Müller', 'Kim', 'Núñez', 'Yamada', 'Ivanova', 'Silva', 'Smith', 'Khan', 'Chen', 'Martin', 'Rossi', 'Novak'] as const;
const CITIES = ['Seoul', 'München', 'São Paulo', 'Kraków', '東京', 'Berlin', 'Paris', 'New York', 'Lagos', 'Mumbai'] as const;
const STATUS = ['new', 'paid', 'shipped', 'refunded', 'cancelled'] as const;
const WORDS = (
  'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we ' +
  'when your can said there use an each which she do how their if will up other about out many then them these so some her would make ' +
  'like him into time has look two more write go see number no way could people my than first water been call who its now find long ' +
  'down day did get come made may part order invoice shipped refund customer delivery late damaged great quality price support thanks ' +
  'größe 좋아요 très bien 配送 быстро'
).split(' ');

/** The node flags of package.json's `worker:compiled` script (`node <flags> lib/worker.js`). */
function compiledWorkerFlags(): string[] {
  const script: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts['worker:compiled'];
  const m = /^node ((?:--\S+ )*)lib\/worker\.js$/.exec(script);
  if (!m) throw new Error(`unexpected worker:compiled script: ${script}`);
  return m[1].split(' ').filter(Boolean);
}

interface StartedWorker {
  pid: number;
  stop(): Promise<void>;
}

/** The backup worker as production runs it, in a child process of its own. */
async function startWorker(args: string[], logFile: string | undefined, env: Env): Promise<StartedWorker> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('backup worker polling')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
      if (output.length > 100_000) output = output.slice(-50_000);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready:\n${output}`)));
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await ready.finally(() => clearTimeout(timeout));
  // Its log goes to a file (BENCH_WORKER_LOG) or nowhere: it would drown the figures.
  const log = logFile ? fs.createWriteStream(logFile) : undefined;
  for (const s of [child.stdout!, child.stderr!]) {
    s.removeAllListeners('data');
    if (log) s.pipe(log, { end: false });
    else s.resume();
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a bash pipeline, returning wall time and the CPU time of everything it ran (bash's `times`). */
async function timedShell(pipeline: string, env: NodeJS.ProcessEnv): Promise<{ wallS: number; cpuS: number; load1: number; stdout: string }> {
  const script = `set -eo pipefail\n${pipeline}\ntimes >&3`;
  const load1 = os.loadavg()[0];
  const started = Date.now();
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let times = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (times += d));
  const [code] = await once(child, 'close');
  const wallS = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`${pipeline} failed (${code}): ${stderr}`);
  // Second line: user and system time of the children, e.g. "0m12.345s 0m1.234s".
  const children = times.trim().split('\n')[1] ?? '';
  const cpuS = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wallS, cpuS, load1, stdout };
}

/** How long each activity ran (its Started → Completed event times), in seconds, by activity type. */
/**
 * Each step's duration from the workflow's history, and the time some step was running (steps
 * overlap: compress runs beside dump), whose complement in the wall time is Temporal's overhead.
 */
async function activityDurations(handle: {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- history events are read loosely by field name
  fetchHistory(): Promise<{ events?: Array<Record<string, any>> | null }>;
}): Promise<{ steps: Record<string, number>; busyS: number }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const names = new Map<string, string>();
  const started = new Map<string, number>();
  const steps: Record<string, number> = {};
  const spans: Array<[number, number]> = [];
  for (const e of events) {
    const at = tsToMs(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) names.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const id = String(done.scheduledEventId);
      const name = names.get(id) ?? '?';
      const from = started.get(id) ?? at;
      steps[name] = (steps[name] ?? 0) + (at - from) / 1000;
      spans.push([from, at]);
    }
  }
  let busyMs = 0;
  let reached = -Infinity;
  for (const [from, to] of spans.sort((a, b) => a[0] - b[0])) {
    busyMs += Math.max(0, to - Math.max(from, reached));
    reached = Math.max(reached, to);
  }
  return { steps, busyS: busyMs / 1000 };
}

function vmKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Resets VmHWM (Linux ≥ 4.0, `echo 5 > /proc/PID/clear_refs`), so the peak covers the backups only. */
function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** utime + stime + cutime + cstime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: field 3 is index 0, so utime (14) … cstime (17) are 11…14.
  const ticks = fields.slice(11, 15).reduce((a, b) => a + Number(b), 0);
  return ticks / 100;
}

/** CPU seconds (user + system) of a process's threads, by thread name (main: the JS thread; node: libuv's pool and V8's helpers). */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? 'main' : name;
      out[key] = (out[key] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

function emptyDir(dir: string): void {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true });
}

function withoutVariables(env: Env, pattern: RegExp): Env {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !pattern.test(k)));
}

function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function loadAvgText(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}
