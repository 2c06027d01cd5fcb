import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A real file system without hard links, made and mounted for a test: a FAT image (mkfs.vfat,
 * Debian package dosfstools) mounted through FUSE with fusefat (package fusefat). FAT has no
 * hard links, no symlinks, no permission bits and case-insensitive names, like the SMB/CIFS
 * shares and many FUSE mounts that backups land on. FUSE, not the kernel's vfat driver: that
 * module is missing on many CI kernels, /dev/fuse rarely is.
 */
export interface FatMount {
  /** The mounted directory: write backups here. */
  dir: string;
  /** Unmounts and removes the image; safe to call twice. */
  unmount(): void;
}

const TOOLS = ['mkfs.vfat', 'fusefat', 'fusermount'];

function onPath(tool: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']) {
    const full = path.join(dir, tool);
    if (dir && fs.existsSync(full)) return full;
  }
  return undefined;
}

/** Why a FAT mount cannot be made here (for `ctx.skip` with the reason), or undefined when it can. */
export function fatMountUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a FAT image through FUSE needs root';
  if (!fs.existsSync('/dev/fuse')) return 'no /dev/fuse on this machine';
  const missing = TOOLS.filter((t) => !onPath(t));
  if (missing.length) return `${missing.join(', ')} not installed (Debian packages dosfstools, fusefat, fuse3)`;
  return undefined;
}

function isMounted(dir: string): boolean {
  const resolved = fs.realpathSync(dir);
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === resolved);
}

function unmountDir(dir: string): void {
  // A file still open in the mount (a test that failed half-way) makes a plain unmount fail:
  // try a few times, then detach lazily so the directory is free whatever happens.
  for (let i = 0; i < 10 && isMounted(dir); i++) {
    if (spawnSync(onPath('fusermount')!, ['-u', dir], { stdio: 'ignore' }).status === 0) break;
    spawnSync('sleep', ['0.2']);
  }
  if (isMounted(dir)) spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}

/**
 * Makes a `sizeMb` FAT image in a temporary directory and mounts it read-write. The mount is
 * also undone when this process exits, so a crashed test leaves no mount behind. Throws with
 * the reason from `fatMountUnavailable` when it cannot be made, and when the mounted file
 * system turns out to allow hard links after all (the tests built on it would prove nothing).
 */
export function mountFat({ sizeMb = 64 }: { sizeMb?: number } = {}): FatMount {
  const unavailable = fatMountUnavailable();
  if (unavailable) throw new Error(unavailable);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-fat-'));
  const image = path.join(root, 'fat.img');
  const dir = path.join(root, 'mnt');
  fs.mkdirSync(dir);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, sizeMb * 1024 * 1024);
  // No volume label: fusefat would list one as a file in the root directory.
  execFileSync(onPath('mkfs.vfat')!, [image], { stdio: 'ignore' });
  execFileSync(onPath('fusefat')!, ['-o', 'rw+', image, dir], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !isMounted(dir); i++) spawnSync('sleep', ['0.1']);

  let done = false;
  const unmount = () => {
    if (done) return;
    done = true;
    process.removeListener('exit', unmount);
    unmountDir(dir);
    if (!isMounted(dir)) fs.rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', unmount);
  if (!isMounted(dir)) {
    unmount();
    throw new Error(`fusefat did not mount ${image} on ${dir}`);
  }
  const probe = path.join(dir, 'link-probe');
  fs.writeFileSync(probe, 'x');
  const linkError = (() => {
    try {
      fs.linkSync(probe, `${probe}-2`);
      return undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code;
    }
  })();
  fs.rmSync(probe, { force: true });
  if (linkError !== 'EPERM') {
    unmount();
    throw new Error(`link() on the FAT mount gave ${linkError ?? 'success'}, not EPERM: it cannot stand in for a file system without hard links`);
  }
  return { dir, unmount };
}
