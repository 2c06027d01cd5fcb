/** The configuration a worker runs with; other commands' configurations live beside it in this folder. */
export { ConfigError } from './config-error';
export type { DatabaseTarget } from './database-url';
export { databaseFor, loadPruneConfig, loadWorkerConfig, type WorkerConfig } from './worker';
