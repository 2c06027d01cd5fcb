import { runCli } from './cli/program';

/** `npm run schedule -- [apply|describe|pause|unpause|trigger|delete]`: `pg-backup-workflow schedule`, where the project's design puts it. */
runCli(['schedule', ...process.argv.slice(2)]).then((code) => process.exit(code));
