import { runScheduleCli } from './schedule/cli';

/** `npm run schedule -- [apply|describe|pause|unpause|trigger|delete] [--note TEXT]`; see --help. */
runScheduleCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
