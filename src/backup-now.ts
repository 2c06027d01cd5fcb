import { parseArgs } from 'node:util';
import { BACKUP_NOW_HELP, runBackupNowCli } from './schedule/run-now-cli';

/** `npm run backup:now -- <label>`: one backup now, outside the Schedule; prints its JSON result. */
let label: string | undefined;
try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(BACKUP_NOW_HELP);
    process.exit(0);
  }
  if (positionals.length > 1) throw new Error(`expected one environment label, got ${positionals.length}`);
  label = positionals[0];
} catch (err) {
  console.error(`${(err as Error).message}\n\n${BACKUP_NOW_HELP}`);
  process.exit(2);
}
runBackupNowCli(label).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
