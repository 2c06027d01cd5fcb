import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type Logger, type WorkerOptions } from '@temporalio/worker';

/** Where `npm run build` writes the workflow bundle: lib/workflow-bundle.js, beside the compiled worker, from the same sources. */
export const BUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

/** src/workflows/index.ts, or lib/workflows/index.js once compiled (spelled out: vitest's loader has no require.resolve for .ts). */
const WORKFLOWS_ENTRY = path.join(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/**
 * The workflow code a Worker runs. A compiled worker (`npm run build`) loads the bundle built
 * with it; from the TypeScript sources (tsx) the workflows are bundled at start. Bundling runs
 * webpack in the worker: seconds of start-up and well over 100 MB of RSS the process keeps.
 */
export function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const built = BUILT_BUNDLE;
  if (path.extname(__filename) === '.js' && fs.existsSync(built)) {
    // tsc alone (without the bundle step) leaves an older bundle: it would run other workflow code than this build's.
    if (fs.statSync(built).mtimeMs >= fs.statSync(WORKFLOWS_ENTRY).mtimeMs) return { workflowBundle: { codePath: built } };
    console.warn(`${built} is older than ${WORKFLOWS_ENTRY}: bundling the workflow code at start instead (npm run build writes both)`);
  }
  return { workflowsPath: WORKFLOWS_ENTRY };
}

/** Bundles every workflow (backups and the freshness check) into one file. */
export async function writeWorkflowBundle(outFile: string, logger?: Logger): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_ENTRY, ...(logger ? { logger } : {}) });
  fs.writeFileSync(outFile, code);
}
