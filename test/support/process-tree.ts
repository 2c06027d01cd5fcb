import fs from 'node:fs';

/** One process as /proc shows it to this process. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The kernel's short name (`pg_dump`, `psql`, `node`), at most 15 characters. */
  comm: string;
  /** argv joined by spaces; empty for a zombie or a process gone meanwhile. */
  cmdline: string;
  /** Kernel state letter: R, S, D, Z (zombie) … */
  state: string;
}

/** Parses /proc/<pid>/stat; the name is in parentheses and may itself hold spaces or parentheses. */
function readStat(pid: number): { comm: string; state: string; ppid: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const [state, ppid] = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state, ppid: Number(ppid) };
}

function readCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Every process visible in /proc right now. */
export function listProcesses(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const stat = readStat(pid);
    if (stat) out.push({ pid, ...stat, cmdline: readCmdline(pid) });
  }
  return out;
}

/**
 * Every descendant of `pid` (children, their children …), zombies included: a zombie is a
 * child whose parent has not reaped it yet, still a leak worth seeing. A process that was
 * re-parented (its parent died first) is no longer a descendant; see `processesMatching`.
 */
export function descendantsOf(pid: number): ProcessEntry[] {
  const all = listProcesses();
  const children = new Map<number, ProcessEntry[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessEntry[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Processes anywhere on this host whose command line matches: the orphans `descendantsOf` no longer sees. */
export function processesMatching(pattern: RegExp): ProcessEntry[] {
  return listProcesses().filter((p) => pattern.test(p.cmdline));
}

/**
 * The environment a running process was started with (/proc/<pid>/environ), e.g. to prove
 * that pg_dump holds no secret it does not need. Needs the same user or root; undefined when
 * the process is gone or unreadable.
 */
export function environOf(pid: number): Record<string, string> | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The first descendant of `pid` named `comm` (e.g. `pg_dump`), waiting up to `timeoutMs` for it to appear. */
export async function waitForDescendant(pid: number, comm: string, timeoutMs = 30_000): Promise<ProcessEntry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = descendantsOf(pid).find((p) => p.comm === comm && p.state !== 'Z');
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${comm} under pid ${pid} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
