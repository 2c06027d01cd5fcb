import { runListCli } from './listing/cli';

/** `npm run backups -- [--json] [--no-checksum] [--label L] [--dir DIR]`; see --help. */
runListCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
