import { requireZstd } from '../compression/zstd-required';
import { loadWorkerConfig } from '../config';
import { isSet, type Env } from '../config/registry';
import { requireLibpqTools } from '../postgres/tool-check';
import { temporalConnectConfig } from '../temporal/connection';
import { findPgBinDir } from './postgres-cluster';
import { findTemporalCli } from './temporal-server';

/** What `start` and `dev` will start themselves, decided from the configuration before anything runs. */
export interface LocalStackPlan {
  /** DATABASE_URL unset: a throwaway PostgreSQL with the demo database. */
  demoDatabase: boolean;
  /** TEMPORAL_ADDRESS unset: an embedded dev server, run from this binary (undefined: the SDK downloads one). */
  embeddedTemporal: boolean;
  temporalCli?: string;
}

/**
 * The demo database's URL is known only once its server runs: the worker configuration is
 * checked with this stand-in, so that every other setting is checked before anything starts.
 */
const DEMO_URL_STAND_IN = 'postgresql://postgres@127.0.0.1/resee_demo';

/**
 * Every configuration error `start` and `dev` can meet, found before they start a server: the
 * worker's settings (and zstd when BACKUP_COMPRESSION asks for it), the PostgreSQL server
 * binaries (PG_BINDIR) when a throwaway cluster is needed, the `temporal` binary
 * (TEMPORAL_CLI_PATH) when a dev server is, else TEMPORAL_ADDRESS.
 */
export async function planLocalStack(env: Env): Promise<LocalStackPlan> {
  const demoDatabase = !isSet(env, 'DATABASE_URL');
  const config = loadWorkerConfig(demoDatabase ? { ...env, DATABASE_URL: DEMO_URL_STAND_IN } : env);
  if (config.compression.kind === 'zstd') await requireZstd();
  if (demoDatabase) findPgBinDir(env);
  // The worker runs BACKUP_PG_DUMP (else pg_dump on PATH), whichever database it backs up.
  await requireLibpqTools(config.libpq.tools, env);
  const embeddedTemporal = !isSet(env, 'TEMPORAL_ADDRESS');
  // The profile and TLS settings are read either way; an embedded server only replaces the address.
  temporalConnectConfig(env, embeddedTemporal ? { embeddedAddress: '127.0.0.1:7233' } : {});
  return { demoDatabase, embeddedTemporal, temporalCli: embeddedTemporal ? findTemporalCli(env) : undefined };
}
