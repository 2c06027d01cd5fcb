import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startThrowawayCluster } from '../../src/dev/postgres-cluster';
import { findTemporalCli, startEmbeddedTemporal } from '../../src/dev/temporal-server';
import { writeWorkflowBundle } from '../../src/temporal/workflow-code';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string;
    temporalCli: string;
    pgAdminUrl: string;
    pgPort: number;
    workflowBundlePath: string;
  }
}

/** One real Temporal dev server (with its Web UI) and one real PostgreSQL for the whole run. */
export default async function setup(project: TestProject) {
  const cli = findTemporalCli();
  if (!cli) throw new Error('no temporal CLI found: run `bash scripts/install-deps.sh` (it builds one from Go modules)');
  const runDir = path.resolve(__dirname, '../../.run');
  fs.mkdirSync(runDir, { recursive: true });

  const workflowBundlePath = path.join(runDir, `workflow-bundle-${process.pid}.js`);
  const [temporal, cluster] = await Promise.all([
    startEmbeddedTemporal({ ui: true }),
    startThrowawayCluster(),
    writeWorkflowBundle(workflowBundlePath, quietLogger),
  ]);

  project.provide('temporalAddress', temporal.address);
  project.provide('temporalUiUrl', temporal.uiUrl ?? '');
  project.provide('temporalCli', cli);
  project.provide('pgAdminUrl', cluster.adminUrl);
  project.provide('pgPort', cluster.port);
  project.provide('workflowBundlePath', workflowBundlePath);

  return async () => {
    await Promise.allSettled([temporal.stop(), cluster.stop()]);
    fs.rmSync(workflowBundlePath, { force: true });
  };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
