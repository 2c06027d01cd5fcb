import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { BACKUP_SEARCH_ATTRIBUTES } from '../common/search-attributes';
import { ConfigError } from '../config/config-error';
import { executableProblem } from '../files/executable';
import { option, type Env } from '../config/registry';
import { freePort } from './postgres-cluster';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The `temporal` CLI to run as a dev server: TEMPORAL_CLI_PATH, else the one
 * scripts/ensure-temporal.sh built into .tools/bin, else one on PATH. Undefined means "let the
 * SDK download it" (works only with internet access). A TEMPORAL_CLI_PATH that cannot be run is
 * a configuration error: falling back to another binary would hide the typo.
 */
export function findTemporalCli(env: Env = process.env): string | undefined {
  const configured = option(env, 'TEMPORAL_CLI_PATH');
  if (configured) {
    const problem = executableProblem(configured);
    if (problem) throw new ConfigError('TEMPORAL_CLI_PATH', `${configured} ${problem}`);
    return configured;
  }
  const built = path.join(PROJECT_ROOT, '.tools', 'bin', 'temporal');
  if (fs.existsSync(built)) return built;
  try {
    return execFileSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface EmbeddedTemporal {
  env: TestWorkflowEnvironment;
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server (the `temporal` CLI) on free loopback ports, optionally with its
 * Web UI, with the backups' search attributes registered (`--search-attribute`).
 */
export async function startEmbeddedTemporal(options: { ui?: boolean; dbFilename?: string; port?: number; cliPath?: string } = {}): Promise<EmbeddedTemporal> {
  const cli = options.cliPath ?? findTemporalCli();
  const port = options.port ?? (await freePort());
  const uiPort = options.ui ? await freePort() : undefined;
  const start = () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        ...(cli ? { executable: { type: 'existing-path' as const, path: cli } } : {}),
        ip: '127.0.0.1',
        port,
        ...(uiPort ? { ui: true, uiPort } : {}),
        ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
        extraArgs: ['--log-level', 'error'],
        searchAttributes: [...BACKUP_SEARCH_ATTRIBUTES],
      },
    });
  const env = await withRetries(start, 3);
  return {
    env,
    address: `127.0.0.1:${port}`,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    stop: () => env.teardown(),
  };
}

/** The SDK gives the server a few seconds to answer; on a loaded 2-core machine that can be short. */
async function withRetries<T>(attempt: () => Promise<T>, times: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= times || !/did not start|timed out|connect/i.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 1000 * i));
    }
  }
}
