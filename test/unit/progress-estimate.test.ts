import { describe, expect, it } from 'vitest';
import { describeProgress, estimateProgress, formatRemaining, observe, startThroughput } from '../../src/common/progress-estimate';
import { shouldReport } from '../../src/common/report-throttle';

const MiB = 1024 * 1024;

/** A step moving `perSecond` bytes every second for `seconds`, observed each second. */
function steady(seconds: number, perSecond: number, from = startThroughput(0)) {
  let state = from;
  for (let s = 1; s <= seconds; s++) state = observe(state, from.atMs + s * 1000, from.bytes + s * perSecond);
  return state;
}

describe('progress estimate (pure)', () => {
  it('gives percent and time left at a steady rate', () => {
    const state = steady(60, 10 * MiB); // 600 MiB of 1000 MiB after a minute
    const estimate = estimateProgress(state, 1000 * MiB);
    expect(estimate).toMatchObject({ bytes: 600 * MiB, percent: 60, beyondExpected: false });
    expect(estimate.bytesPerSecond).toBeCloseTo(10 * MiB, 0);
    expect(estimate.remainingMs).toBeCloseTo(40_000, -2);
    expect(describeProgress('dump', estimate, { expectedIsEstimate: true })).toBe('dump 60% · 600.00 MB of ~1000.00 MB · under a minute left');
  });

  it('follows a change of pace within a few half-lives, not at the average since the start', () => {
    // 5 minutes at 10 MiB/s, then 2 minutes at 2 MiB/s (a table of small rows, say).
    const slowed = steady(120, 2 * MiB, steady(300, 10 * MiB));
    const estimate = estimateProgress(slowed, 6000 * MiB);
    // Four half-lives later the old pace weighs 1/16: about 2.5 MiB/s (the average since the start is 7.7).
    expect(estimate.bytesPerSecond! / MiB).toBeGreaterThan(2);
    expect(estimate.bytesPerSecond! / MiB).toBeLessThan(2.6);
    // 3240 MiB done, 2760 MiB left: 23 minutes at 2 MiB/s, 6 at the average since the start.
    expect(estimate.remainingMs! / 60_000).toBeGreaterThan(17);
    expect(estimate.remainingMs! / 60_000).toBeLessThan(24);
  });

  it('is not dragged down early on by a slow start (the schema before the data)', () => {
    const data = steady(20, MiB, steady(10, 10 * 1024));
    // Recent seconds weigh more, and nothing is averaged with a starting value of 0: about 0.74 MiB/s, not 0.37.
    expect(data.bytesPerSecond! / MiB).toBeGreaterThan(0.65);
    expect(data.bytesPerSecond! / MiB).toBeLessThan(0.85);
  });

  it('weighs observations by the time they cover, however irregular', () => {
    const a = observe(observe(startThroughput(0), 1000, 10 * MiB), 31_000, 310 * MiB);
    let b = observe(startThroughput(0), 1000, 10 * MiB);
    for (let s = 2; s <= 31; s++) b = observe(b, s * 1000, s * 10 * MiB);
    expect(a.bytesPerSecond! / MiB).toBeCloseTo(10, 5);
    expect(b.bytesPerSecond! / MiB).toBeCloseTo(10, 5);
  });

  it('gives no time left in the first seconds, nor while nothing moves', () => {
    const early = estimateProgress(steady(5, MiB), 100 * MiB);
    expect(early.percent).toBe(5);
    expect(early.remainingMs).toBeUndefined();
    expect(describeProgress('dump', early)).toBe('dump 5% · 5.00 MB of 100.00 MB · estimating time left');
    // 20 MiB in 20 s, then pg_dump waits for a lock for three minutes.
    let waiting = steady(20, MiB);
    for (let s = 21; s <= 200; s++) waiting = observe(waiting, s * 1000, 20 * MiB);
    const estimate = estimateProgress(waiting, 100 * MiB);
    expect(estimate.percent).toBe(20);
    expect(estimate.remainingMs).toBeUndefined();
    expect(estimate.stalledForMs).toBe(180_000);
    expect(describeProgress('dump', estimate)).toBe('dump 20% · 20.00 MB of 100.00 MB · no new bytes for 3 min');
    // Moving again: time left at once.
    expect(estimateProgress(observe(waiting, 201_000, 21 * MiB), 100 * MiB).remainingMs).toBeGreaterThan(0);
  });

  it('never shows 100% while running, and says so when the expected size was too small', () => {
    expect(estimateProgress(steady(10, (99.9 * MiB) / 10), 100 * MiB).percent).toBe(99);
    const beyond = estimateProgress(steady(20, 6 * MiB), 100 * MiB);
    expect(beyond.beyondExpected).toBe(true);
    expect([beyond.percent, beyond.remainingMs]).toEqual([undefined, undefined]);
    expect(describeProgress('dump', beyond, { expectedIsEstimate: true })).toBe('dump · 120.00 MB so far (more than the ~100.00 MB expected)');
  });

  it('reports bytes only when nothing is expected', () => {
    const estimate = estimateProgress(steady(10, MiB), undefined);
    expect([estimate.percent, estimate.remainingMs, estimate.beyondExpected]).toEqual([undefined, undefined, false]);
    expect(describeProgress('compress', estimate)).toBe('compress · 10.00 MB so far');
  });

  it('ignores observations that go back in time or in bytes', () => {
    const state = steady(10, MiB);
    expect(observe(state, 5000, 20 * MiB)).toBe(state);
    expect(observe(state, 11_000, 5 * MiB)).toBe(state);
  });

  it('words time left coarsely', () => {
    expect(formatRemaining(59_000)).toBe('under a minute');
    expect(formatRemaining(61_000)).toBe('about 1 min');
    expect(formatRemaining(44 * 60_000)).toBe('about 44 min');
    expect(formatRemaining(83 * 60_000)).toBe('about 1 h 20 min');
    expect(formatRemaining(118 * 60_000)).toBe('about 2 h');
  });
});

describe('progress report throttle (pure)', () => {
  it('reports at once, then on each 5% step but at most every 30 s, and at least every 5 minutes', () => {
    expect(shouldReport(undefined, 0, undefined)).toBe(true);
    const last = { atMs: 0, percent: 12 };
    expect(shouldReport(last, 10_000, 40)).toBe(false); // too soon, however far it moved
    expect(shouldReport(last, 30_000, 14)).toBe(false); // same 5% step
    expect(shouldReport(last, 30_000, 15)).toBe(true);
    expect(shouldReport(last, 299_000, 14)).toBe(false);
    expect(shouldReport(last, 300_000, 14)).toBe(true); // refresh the time left
    expect(shouldReport({ atMs: 0, percent: undefined }, 60_000, undefined)).toBe(false);
    expect(shouldReport({ atMs: 0, percent: 99 }, 60_000, undefined)).toBe(true); // went beyond the expected size
  });

  it('bounds the reports of a ten-minute dump observed every second', () => {
    let last: { atMs: number; percent?: number } | undefined;
    let reports = 0;
    for (let s = 0; s <= 600; s++) {
      const percent = Math.min(99, Math.floor(s / 6));
      if (shouldReport(last, s * 1000, percent)) {
        reports++;
        last = { atMs: s * 1000, percent };
      }
    }
    expect(reports).toBeLessThanOrEqual(21);
    expect(reports).toBeGreaterThanOrEqual(19);
  });
});
