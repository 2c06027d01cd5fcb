import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './paths';

/**
 * The worker as production runs it (`npm run build`, then `npm run worker:compiled`, the Docker
 * image's command), built into a directory of its own so that the bench and the tests never
 * overwrite `lib/`. The directory is inside the project, so the compiled files find node_modules.
 */
export function buildCompiledWorker(outDir: string): { entry: string[] } {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [path.join(outDir, 'cli', 'build-workflow-bundle.js')], { cwd: PROJECT_ROOT, stdio: 'ignore' });
  return { entry: [...compiledWorkerFlags(), path.join(outDir, 'worker.js')] };
}

/** The node flags of package.json's `worker:compiled` script (`node <flags> lib/worker.js`). */
function compiledWorkerFlags(): string[] {
  const script: string = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts['worker:compiled'];
  const m = /^node ((?:--\S+ )*)lib\/worker\.js$/.exec(script);
  if (!m) throw new Error(`unexpected worker:compiled script: ${script}`);
  return m[1].split(' ').filter(Boolean);
}
