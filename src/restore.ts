import { runRestoreCli } from './restore/cli';

/** `npm run restore -- <file | latest> --target URL [--force] [--dir DIR] [--label L] [--identity FILE]` */
runRestoreCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
