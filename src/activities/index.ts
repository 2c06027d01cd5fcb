import type { WorkerConfig } from '../config';
import { makeCompress } from './compress';
import { makeDump } from './dump';
import { makeNotify } from './notify';
import { makeResolveSettings } from './settings';
import { stat } from './stat';
import { makeVerify } from './verify';
import { makePrune } from './prune';

/** Steps that touch the backup file: served on this host's own task queue only. */
export function createFileActivities(config: WorkerConfig) {
  return { dump: makeDump(config), compress: makeCompress(config), verify: makeVerify(config), stat, prune: makePrune(config) };
}

/** Steps any worker can run: served on the shared task queue. */
export function createSharedActivities(config: WorkerConfig) {
  return { notify: makeNotify(config), resolveSettings: makeResolveSettings(config) };
}

export type FileActivities = ReturnType<typeof createFileActivities>;
export type SharedActivities = ReturnType<typeof createSharedActivities>;
