import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tsToMs } from '@temporalio/common/lib/time';

/**
 * What the bench reads from the system: wall and CPU seconds of shell pipelines, of a process
 * and its reaped children, of a PostgreSQL server (the postmaster and every backend), peak RSS,
 * and the steps of a workflow run from its history.
 */

/** Runs a bash pipeline, returning wall time and the CPU time of everything it ran (bash's `times`). */
export async function timedShell(
  pipeline: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ wallS: number; cpuS: number; load1: number; stdout: string }> {
  const script = `set -eo pipefail\n${pipeline}\ntimes >&3`;
  const load1 = os.loadavg()[0];
  const started = Date.now();
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let times = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (times += d));
  const [code] = await once(child, 'close');
  const wallS = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`${pipeline} failed (${code}): ${stderr}`);
  // Second line: user and system time of the children, e.g. "0m12.345s 0m1.234s".
  const children = times.trim().split('\n')[1] ?? '';
  const cpuS = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { wallS, cpuS, load1, stdout };
}

/** Clock ticks per second of /proc's CPU times. */
const HZ = 100;

function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces and parentheses): field 3 is index 0.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** utime + stime (+ cutime + cstime with `children`: what its reaped children used) of a process, in seconds. */
export function cpuSeconds(pid: number, children = true): number {
  const f = statFields(pid);
  if (!f) return 0;
  // utime (14), stime (15), cutime (16), cstime (17) are indexes 11…14.
  return f.slice(11, children ? 15 : 13).reduce((a, b) => a + Number(b), 0) / HZ;
}

/**
 * CPU seconds a PostgreSQL server has used so far: the postmaster with its reaped children
 * (backends that ended) plus every live child (backends, parallel workers, checkpointer, …).
 * The difference of two readings is what the server did in between.
 */
export function serverCpuSeconds(postmasterPid: number): number {
  let total = cpuSeconds(postmasterPid);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    // Field 4 (ppid) is index 1.
    if (f && Number(f[1]) === postmasterPid) total += cpuSeconds(Number(entry), false);
  }
  return total;
}

/** The postmaster's pid, from the first line of `postmaster.pid` in the data directory. */
export function postmasterPid(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

export function vmKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Resets VmHWM (Linux ≥ 4.0, `echo 5 > /proc/PID/clear_refs`), so the peak covers what follows only. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Each step's duration from the workflow's history, and the time some step was running (steps
 * overlap: compress runs beside dump, verify beside compress), whose complement in the wall
 * time is Temporal's overhead.
 */
export async function activityDurations(handle: {
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

/** CPU seconds (user + system) of a process's threads, by thread name (main: the JS thread; node: libuv's pool and V8's helpers). */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? 'main' : name;
      out[key] = (out[key] ?? 0) + (Number(f[11]) + Number(f[12])) / HZ;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

export function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
