/**
 * The bench's figures and how they are judged: per round, every ratio is taken between methods
 * measured side by side in that round (the machine's load drifts between rounds, and a ratio
 * within one round cancels most of it); over the rounds, the median and the range.
 */
export const METHODS = ['workflow', 'verified', 'restore', 'pigz', 'gzip', 'zstd-workflow', 'zstd', 'stream'] as const;
export type Method = (typeof METHODS)[number];

export interface Run {
  shape: string;
  method: Method;
  round: number;
  wallS: number;
  /** CPU of the processes that did the work: the worker with its children (pg_dump, psql, zstd), or the pipeline's. */
  cpuS: number;
  /** CPU of the PostgreSQL server meanwhile (postmaster and every backend). */
  serverCpuS: number;
  bytesOut: number;
  load1: number;
  /** Workflow runs: each step's seconds from history, and the time outside any step. */
  steps?: Record<string, number>;
  overheadS?: number;
  /** Restore: rows psql reported loading (its COPY tags). */
  rows?: number;
}

/** The floor of the verified workflow in one round, with each of its terms. */
export interface Floor {
  unverifiedWallS: number;
  restoreWallS: number;
  /** CPU seconds of the unverified run and of the restore, each with the server's. */
  cpuS: number;
  cores: number;
  floorS: number;
}

export interface Ratio {
  name: string;
  /** `≤ 1.15`, `≥ 2`, or undefined for a figure shown for comparison. */
  target?: { op: '<=' | '>='; value: number };
  perRound: Array<number | undefined>;
}

const wallOf = (runs: Run[], method: Method) => runs.find((r) => r.method === method)?.wallS;
const sizeOf = (runs: Run[], method: Method) => runs.find((r) => r.method === method)?.bytesOut;
const div = (a?: number, b?: number) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

/** max(unverified wall, restore-alone wall, (CPU of both, server included) ÷ cores), when the round has both runs. */
export function floorOf(round: Run[], cores: number): Floor | undefined {
  const unverified = round.find((r) => r.method === 'workflow');
  const restore = round.find((r) => r.method === 'restore');
  if (!unverified || !restore) return undefined;
  const cpuS = unverified.cpuS + unverified.serverCpuS + restore.cpuS + restore.serverCpuS;
  return { unverifiedWallS: unverified.wallS, restoreWallS: restore.wallS, cpuS, cores, floorS: Math.max(unverified.wallS, restore.wallS, cpuS / cores) };
}

/** The issue's ratios, each per round (undefined where a method of it was not run). */
export function ratios(runs: Run[], cores: number): Ratio[] {
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const each = (f: (round: Run[]) => number | undefined) => rounds.map((n) => f(runs.filter((r) => r.round === n)));
  return [
    { name: 'unverified workflow ÷ pg_dump | pigz -6', target: { op: '<=', value: 1.0 }, perRound: each((r) => div(wallOf(r, 'workflow'), wallOf(r, 'pigz'))) },
    { name: 'unverified workflow ÷ pg_dump | gzip -6', perRound: each((r) => div(wallOf(r, 'workflow'), wallOf(r, 'gzip'))) },
    { name: 'verified workflow ÷ its floor', target: { op: '<=', value: 1.15 }, perRound: each((r) => div(wallOf(r, 'verified'), floorOf(r, cores)?.floorS)) },
    { name: 'verified workflow ÷ pg_dump | pigz -6', perRound: each((r) => div(wallOf(r, 'verified'), wallOf(r, 'pigz'))) },
    {
      name: 'workflow output ÷ gzip -6 output',
      target: { op: '<=', value: 1.01 },
      perRound: each((r) => div(sizeOf(r, 'workflow') ?? sizeOf(r, 'verified'), sizeOf(r, 'gzip'))),
    },
    {
      name: 'zstd workflow ÷ pg_dump | zstd -3 -T0',
      target: { op: '<=', value: 1.1 },
      perRound: each((r) => div(wallOf(r, 'zstd-workflow'), wallOf(r, 'zstd'))),
    },
    {
      name: 'gzip workflow ÷ zstd workflow (speed-up)',
      target: { op: '>=', value: 2 },
      perRound: each((r) => div(wallOf(r, 'workflow'), wallOf(r, 'zstd-workflow'))),
    },
    { name: 'zstd workflow output ÷ gzip -6 output', perRound: each((r) => div(sizeOf(r, 'zstd-workflow'), sizeOf(r, 'gzip'))) },
  ];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `met` / `NOT met (by 7%)` for a ratio's median. */
export function verdict(ratio: Ratio): string {
  const values = ratio.perRound.filter((v): v is number => v !== undefined);
  if (!ratio.target || values.length === 0) return '';
  const m = median(values);
  const { op, value } = ratio.target;
  const ok = op === '<=' ? m <= value : m >= value;
  if (ok) return 'met';
  const by = op === '<=' ? m / value - 1 : 1 - m / value;
  return `NOT met (by ${(by * 100).toFixed(0)}%)`;
}

const MB = 1e6;

const LABELS: Record<Method, (level: number) => string> = {
  workflow: () => 'workflow, unverified (gzip)',
  verified: () => 'workflow, verified (gzip; the default)',
  restore: () => 'restore alone: gunzip \\| psql into a scratch database',
  pigz: (l) => `pg_dump \\| pigz -${l}`,
  gzip: (l) => `pg_dump \\| gzip -${l}`,
  'zstd-workflow': () => 'workflow, unverified (zstd)',
  zstd: () => 'pg_dump \\| zstd -3 -T0',
  stream: (l) => `pg_dump \\| parallel-gzip -${l} (streamed; not the workflow)`,
};

const f1 = (v?: number) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(1));
const f2 = (v?: number) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(2));

/** One shape's runs, floors and ratios, as markdown. */
export function shapeReport(shape: string, plainBytes: number, runs: Run[], cores: number, level: number): string {
  const lines: string[] = [`### ${shape}: plain dump ${(plainBytes / MB).toFixed(0)} MB`, ''];
  lines.push('| round | method | wall s | CPU s | server CPU s | output MB | steps (s) | load1 |');
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const r of runs) {
    const steps = r.steps
      ? Object.entries(r.steps)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ') + (r.overheadS !== undefined ? `; outside steps ${r.overheadS.toFixed(2)}` : '')
      : r.rows !== undefined
        ? `${r.rows.toLocaleString('en-US')} rows`
        : '';
    lines.push(
      `| ${r.round} | ${LABELS[r.method](level)} | ${f1(r.wallS)} | ${f1(r.cpuS)} | ${f1(r.serverCpuS)} | ${(r.bytesOut / MB).toFixed(1)} | ${steps} | ${r.load1.toFixed(1)} |`,
    );
  }
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const floors = rounds.map((n) =>
    floorOf(
      runs.filter((r) => r.round === n),
      cores,
    ),
  );
  if (floors.some(Boolean)) {
    lines.push('', `Floor of the verified workflow (${cores} cores): max(unverified wall, restore-alone wall, CPU of both incl. the server ÷ cores)`, '');
    lines.push('| round | unverified wall s | restore-alone wall s | CPU s ÷ cores | floor s | verified wall s |');
    lines.push('| ---: | ---: | ---: | ---: | ---: | ---: |');
    rounds.forEach((n, i) => {
      const fl = floors[i];
      if (!fl) return;
      const verified = runs.find((r) => r.round === n && r.method === 'verified')?.wallS;
      lines.push(
        `| ${n} | ${f1(fl.unverifiedWallS)} | ${f1(fl.restoreWallS)} | ${f1(fl.cpuS)} ÷ ${cores} = ${f1(fl.cpuS / cores)} | ${f1(fl.floorS)} | ${f1(verified)} |`,
      );
    });
  }
  lines.push('', `| ratio (measured side by side) | ${rounds.map((n) => `round ${n}`).join(' | ')} | median | target | |`);
  lines.push(`| --- | ${rounds.map(() => '---:').join(' | ')} | ---: | --- | --- |`);
  for (const ratio of ratios(runs, cores)) {
    const values = ratio.perRound.filter((v): v is number => v !== undefined);
    if (values.length === 0) continue;
    const target = ratio.target ? `${ratio.target.op === '<=' ? '≤' : '≥'} ${ratio.target.value.toFixed(2)}` : '';
    lines.push(
      `| ${ratio.name.replaceAll('|', '\\|')} | ${ratio.perRound.map((v) => f2(v)).join(' | ')} | ${f2(median(values))} | ${target} | ${verdict(ratio)} |`,
    );
  }
  return lines.join('\n');
}
