import { runCli } from './program';

/** `pg-backup-workflow <command>`: see `--help`. */
runCli(process.argv.slice(2)).then((code) => process.exit(code));
