import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { descendantsOf, listProcesses, type ProcessEntry } from './process-tree';

/**
 * A backup worker running as if on another host that shares the backup directory (NFS): its
 * own PID namespace with a private /proc, its own UTS namespace (another host name), started
 * with util-linux `unshare`. Its /proc shows only its own processes, so /proc/<pid>/fd there
 * says nothing about files that another "host" holds open — exactly what a worker on an NFS
 * client sees of the other clients. Network and file systems are shared (Temporal, PostgreSQL,
 * the directory), as on real hosts.
 *
 * Note: a parent PID namespace sees every process of its children. For a worker to be blind to
 * another's processes, both must run in namespaces of their own (start both with this helper);
 * the test process itself sees them all, which is what its assertions need.
 */
export interface IsolatedHost {
  hostname: string;
  /** The `unshare` process, in this (the test's) namespace. */
  unsharePid: number;
  /** Output of the worker so far (stdout and stderr). */
  output(): string;
  /** Every process of the host, as seen from the test's namespace (host PIDs), `unshare` excluded. */
  processes(): ProcessEntry[];
  /** The worker's PID as the test sees it (not as the host sees it: there it is 1 or 2). */
  workerPid(): number | undefined;
  /**
   * SIGKILL of the whole host at once (its namespace's init dies, the kernel kills every other
   * process in the namespace): a host that loses power, seen from the shared directory.
   */
  crash(): Promise<void>;
  /** A signal to the worker process only (SIGTERM: orderly shutdown; SIGKILL: the worker dies, its children get their death signal). */
  signalWorker(signal: NodeJS.Signals): void;
  /** Resolves when every process of the host is gone. */
  exited(): Promise<void>;
  hasExited(): boolean;
}

/** The PID namespace of a process (`pid:[4026532…]`), undefined once it is gone. */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Why namespaces cannot be made here (skip reason), or undefined when they can. */
export function isolatedHostUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'PID, UTS and mount namespaces for a second host need root (CAP_SYS_ADMIN)';
  if (!fs.existsSync('/usr/bin/unshare') && spawnSync('sh', ['-c', 'command -v unshare']).status !== 0) return 'util-linux unshare is not installed';
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--uts', 'true']);
  if (probe.status !== 0) return `unshare failed here: ${probe.stderr.toString().trim() || `exit ${probe.status}`}`;
  return undefined;
}

const ROOT = path.resolve(__dirname, '../..');

/**
 * Starts `command` (default: the backup worker, `node --import tsx src/worker.ts`) on a new
 * "host" named `hostname`, with exactly `env` (plus PATH and HOME). When this process exits,
 * the host is killed with it (unshare --kill-child).
 */
export function startIsolatedHost({
  hostname,
  env,
  command = [process.execPath, '--import', 'tsx', 'src/worker.ts'],
  cwd = ROOT,
}: {
  hostname: string;
  env: Record<string, string>;
  command?: string[];
  cwd?: string;
}): IsolatedHost {
  if (!/^[A-Za-z0-9-]{1,63}$/.test(hostname)) throw new Error(`not a host name: ${hostname}`);
  // The namespace's init is a shell that names the host and waits for the worker: it stays
  // PID 1 (which ignores signals it has no handler for), so the worker gets default signal
  // handling, and killing it from outside ends the whole namespace.
  const script = 'echo "$0" > /proc/sys/kernel/hostname && "$@"; exit $?';
  const child: ChildProcess = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--uts', '--kill-child', '--', 'sh', '-c', script, hostname, ...command], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const unsharePid = child.pid!;
  // The namespace is known by its init (unshare's only child); its processes by that namespace,
  // so they are still found once unshare itself has gone.
  let namespace: string | undefined;
  const init = () => {
    const shell = descendantsOf(unsharePid).find((p) => p.ppid === unsharePid);
    if (shell && !namespace) namespace = pidNamespaceOf(shell.pid);
    return shell;
  };
  const processes = () => {
    init();
    return namespace ? listProcesses().filter((p) => pidNamespaceOf(p.pid) === namespace) : [];
  };

  return {
    hostname,
    unsharePid,
    output: () => output,
    processes,
    workerPid: () => {
      const shell = init();
      return shell ? processes().find((p) => p.ppid === shell.pid)?.pid : undefined;
    },
    async crash() {
      const shell = init();
      if (shell) process.kill(shell.pid, 'SIGKILL');
      await this.exited();
    },
    signalWorker(signal) {
      const pid = this.workerPid();
      if (pid) process.kill(pid, signal);
    },
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    async exited() {
      await closed;
      // unshare has gone; wait for the namespace's last processes to be reaped.
      for (let i = 0; i < 100 && processes().length; i++) await new Promise((r) => setTimeout(r, 50));
      process.removeListener('exit', killOnExit);
    },
  };
}

/** Waits until the host's output contains `text` (e.g. the worker's "polling" line), failing early if it exits. */
export async function waitForOutput(host: IsolatedHost, text: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!host.output().includes(text)) {
    if (Date.now() > deadline) throw new Error(`host ${host.hostname} did not print ${JSON.stringify(text)} in ${timeoutMs} ms:\n${host.output()}`);
    if (host.hasExited()) throw new Error(`host ${host.hostname} exited:\n${host.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
