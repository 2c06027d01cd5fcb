import { describe, expect, it } from 'vitest';
import { SHAPE_NAMES } from '../../src/bench/shapes';
import { floorOf, METHODS, ratios, verdict, type Run } from '../../src/bench/report';
import { BENCH_METHOD_NAMES, BENCH_SHAPES } from '../../src/config/registry';
import { sizeFor } from '../../src/bench/bench';

const run = (method: Run['method'], round: number, wallS: number, extra: Partial<Run> = {}): Run => ({
  shape: 'text',
  method,
  round,
  wallS,
  cpuS: 0,
  serverCpuS: 0,
  bytesOut: 100,
  load1: 0,
  ...extra,
});

describe('bench figures', () => {
  it('the registry names the shapes and methods the bench has', () => {
    expect([...BENCH_SHAPES]).toEqual([...SHAPE_NAMES]);
    expect([...BENCH_METHOD_NAMES]).toEqual([...METHODS]);
  });

  it('scales every shape from its ~1 GB default, never below pgbench scale 1', () => {
    expect(sizeFor('text', 1)).toEqual({ scale: 30, rows: 1_500_000 });
    expect(sizeFor('text', 0.1)).toEqual({ scale: 3, rows: 150_000 });
    expect(sizeFor('pgbench', 0.001)).toEqual({ scale: 1, rows: 0 });
  });

  it("takes the verified workflow's floor as the largest of its three terms, CPU including the server's", () => {
    const round = [run('workflow', 1, 17, { cpuS: 20, serverCpuS: 4 }), run('restore', 1, 15, { cpuS: 6, serverCpuS: 12 })];
    // CPU: 20 + 4 + 6 + 12 = 42 s on 2 cores = 21 s: the CPU bounds it, not either wall time.
    expect(floorOf(round, 2)).toEqual({ unverifiedWallS: 17, restoreWallS: 15, cpuS: 42, cores: 2, floorS: 21 });
    expect(floorOf(round, 8)!.floorS).toBe(17);
    expect(floorOf([run('workflow', 1, 17)], 2)).toBeUndefined();
  });

  it('pairs methods within each round, and judges the median against the target', () => {
    const runs = [
      run('workflow', 1, 10),
      run('pigz', 1, 10),
      run('workflow', 2, 12),
      run('pigz', 2, 10),
      run('workflow', 3, 9),
      run('pigz', 3, 10),
      run('zstd-workflow', 1, 4),
      run('zstd', 1, 4),
    ];
    const all = ratios(runs, 2);
    const vsPigz = all.find((r) => r.name.startsWith('unverified workflow ÷ pg_dump | pigz'))!;
    expect(vsPigz.perRound).toEqual([1, 1.2, 0.9]);
    expect(verdict(vsPigz)).toBe('met'); // median 1.00
    const speedUp = all.find((r) => r.name.startsWith('gzip workflow ÷ zstd workflow'))!;
    expect(speedUp.perRound).toEqual([2.5, undefined, undefined]);
    expect(verdict(speedUp)).toBe('met');
    expect(verdict({ name: 'x', target: { op: '<=', value: 1.15 }, perRound: [1.2, 1.3, 1.25] })).toBe('NOT met (by 9%)');
    expect(verdict({ name: 'x', target: { op: '>=', value: 2 }, perRound: [1.5] })).toBe('NOT met (by 25%)');
  });
});
