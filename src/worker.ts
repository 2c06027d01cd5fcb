import { runCli } from './cli/program';

/** `npm run worker` / `node lib/worker.js`: `pg-backup-workflow worker`, where the project's design puts the worker's entry. */
runCli(['worker', ...process.argv.slice(2)]).then((code) => process.exit(code));
