import type { Env } from '../config/registry';
import fs from 'node:fs/promises';
import path from 'node:path';
import { humanSize } from '../common/human-size';
import { rolesSidecarName } from '../files/roles-sidecar';
import { checkChecksum, type ChecksumStatus } from './checksum';
import { candidateLabels, labelOf, parseBackupFileName } from './names';
import { lookUpRuns, type RunLookup } from './runs';

export interface ListedBackup {
  fileName: string;
  path: string;
  label: string;
  encrypted: boolean;
  sizeBytes: number;
  size: string;
  /** When the backup was taken: the run's start when Temporal knows it, else the file's mtime. */
  takenAt: string;
  ageMs: number;
  checksum: ChecksumStatus;
  checksumDetail?: string;
  /** The roles sidecar beside it (`<base>.roles.json[.age]`) and its checksum; null when there is none. */
  roles: { fileName: string; checksum: ChecksumStatus; checksumDetail?: string } | null;
  /** true/false from the run's result; null when unknown (Temporal unreachable, or no run found). */
  verified: boolean | null;
  verification: { verified: true; tables: number; rows: number } | null;
  /** Where copies exist (the copy steps' targets); null when unknown. */
  copies: string[] | null;
  run: { workflowId: string; runId: string } | null;
}

export interface BackupListing {
  directory: string;
  temporal: { reachable: boolean; address: string; error?: string };
  backups: ListedBackup[];
  totalBytes: number;
}

export interface ListOptions {
  dir: string;
  /** Only this label. */
  label?: string;
  /** Recompute sha256 (reads every byte); false for speed. */
  checksums: boolean;
  /** Labels from BACKUP_ENVIRONMENTS / BACKUP_ENVIRONMENT: tell `{db}_{label}` apart when both contain `_`. */
  configuredLabels: string[];
  env: Env;
  now?: () => number;
}

/** Every backup in the directory, newest first, with what the disk and Temporal say about it. */
export async function listBackups(options: ListOptions): Promise<BackupListing> {
  const dir = path.resolve(options.dir);
  const files = [];
  const names = await fs.readdir(dir);
  const present = new Set(names);
  for (const fileName of names) {
    const name = parseBackupFileName(fileName);
    if (!name) continue;
    const stat = await fs.stat(path.join(dir, fileName)).catch(() => undefined);
    if (stat?.isFile()) files.push({ name, stat });
  }
  const lookup: RunLookup = await lookUpRuns(
    dir,
    files.map(({ name, stat }) => ({ fileName: name.fileName, mtime: stat.mtime, labels: candidateLabels(name.prefix) })),
    options.env,
  );
  const now = (options.now ?? Date.now)();

  const backups: ListedBackup[] = [];
  for (const { name, stat } of files) {
    const run = lookup.reachable ? lookup.byFileName.get(name.fileName) : undefined;
    const label = labelOf(name, { fromRun: run?.environment, configured: options.configuredLabels });
    if (options.label && label !== options.label) continue;
    const file = path.join(dir, name.fileName);
    const checksum = options.checksums ? await checkChecksum(file) : { status: 'skipped' as const };
    const takenAt = run?.startedAt ? new Date(run.startedAt) : stat.mtime;
    const rolesName = rolesSidecarName(name.fileName);
    const roles = rolesName && present.has(rolesName) ? await rolesStatus(dir, rolesName, options.checksums) : null;
    backups.push({
      fileName: name.fileName,
      path: file,
      label,
      encrypted: name.encrypted,
      sizeBytes: stat.size,
      size: humanSize(stat.size),
      takenAt: takenAt.toISOString(),
      ageMs: Math.max(0, now - takenAt.getTime()),
      checksum: checksum.status,
      ...('detail' in checksum && checksum.detail ? { checksumDetail: checksum.detail } : {}),
      roles,
      verified: run ? Boolean(run.verification?.verified) : null,
      verification: run?.verification ?? null,
      copies: run ? (Array.isArray(run.copies) ? run.copies.map((c) => c.target) : []) : null,
      run: run ? { workflowId: run.workflowId, runId: run.runId } : null,
    });
  }
  backups.sort((a, b) => b.takenAt.localeCompare(a.takenAt) || a.fileName.localeCompare(b.fileName));
  return {
    directory: dir,
    temporal: lookup.reachable ? { reachable: true, address: lookup.address } : { reachable: false, address: lookup.address, error: lookup.error },
    backups,
    totalBytes: backups.reduce((sum, b) => sum + b.sizeBytes, 0),
  };
}

async function rolesStatus(dir: string, fileName: string, checksums: boolean): Promise<NonNullable<ListedBackup['roles']>> {
  if (!checksums) return { fileName, checksum: 'skipped' };
  const checked = await checkChecksum(path.join(dir, fileName));
  return { fileName, checksum: checked.status, ...(checked.detail ? { checksumDetail: checked.detail } : {}) };
}
