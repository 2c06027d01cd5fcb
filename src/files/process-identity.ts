import fs from 'node:fs/promises';
import os from 'node:os';

/**
 * Who a process is, in terms another process can check later: a PID alone is reused, and it
 * only means something inside one PID namespace of one boot of one kernel. Two workers may
 * share a host name (containers) or a kernel (containers again) without seeing each other's
 * processes, so "same host" here means same boot and same PID namespace, where /proc answers.
 */
export interface ProcessIdentity {
  /** For people reading the record; not used to decide anything. */
  host: string;
  /** /proc/sys/kernel/random/boot_id: changes at every boot. */
  bootId: string;
  /** `pid:[4026531836]`: the PID namespace the pid belongs to. */
  pidNamespace: string;
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22): a reused pid has another. */
  pidStartTime: string;
}

/** Where /proc is missing (not Linux), identities cannot be checked: every answer is "unknown". */
const UNKNOWN = 'unknown';

export async function currentProcessIdentity(pid = process.pid): Promise<ProcessIdentity> {
  const [bootId, pidNamespace, pidStartTime] = await Promise.all([
    fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
      (s) => s.trim(),
      () => UNKNOWN,
    ),
    fs.readlink('/proc/self/ns/pid').catch(() => UNKNOWN),
    processStartTime(pid),
  ]);
  return { host: os.hostname(), bootId, pidNamespace, pid, pidStartTime: pidStartTime ?? UNKNOWN };
}

/** The start time of `pid` as /proc shows it here, or undefined when there is no such process. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name, in parentheses, may hold spaces and parentheses: count fields after the last ')'.
  // Fields from there: 3 state, 4 ppid, … 22 starttime.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined; // exited, not yet reaped: gone for our purpose
  return fields[22 - 3];
}

/** True when /proc of this process can tell whether the process `other` names is alive. */
export function canCheckHere(other: Pick<ProcessIdentity, 'bootId' | 'pidNamespace'>, here: Pick<ProcessIdentity, 'bootId' | 'pidNamespace'>): boolean {
  return other.bootId !== UNKNOWN && other.pidNamespace !== UNKNOWN && other.bootId === here.bootId && other.pidNamespace === here.pidNamespace;
}
