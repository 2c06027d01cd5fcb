import { parseArgs } from 'node:util';
import { labelProblem } from '../common/label';
import { DEFAULTS } from '../config';
import { ConfigError } from '../config/config-error';
import { environmentsOf } from '../config/env';
import { formatListing } from './format';
import { listBackups } from './list';

export const LIST_HELP = `Usage: npm run backups -- [--json] [--no-checksum] [--label L] [--dir DIR]

Lists the backups in BACKUP_DIR (default ${DEFAULTS.backupDir}), newest first: label, size, age,
checksum (sha256 recomputed and compared with the .sha256 sidecar: ok, MISMATCH or missing),
whether the run that wrote it verified it by a restore, and where copies exist (both from
Temporal: "unknown" when it is unreachable or no longer has the run).

  --json          machine-readable output
  --no-checksum   do not read the files (fast; CHECKSUM shows "skipped")
  --label L       only backups of label L
  --dir DIR       another directory than BACKUP_DIR

Exit codes: 0 listed, 1 a checksum MISMATCH or the directory cannot be read, 2 bad usage.`;

export interface ListIo {
  out: (text: string) => void;
  err: (text: string) => void;
}
const consoleIo: ListIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

export async function runListCli(argv: string[], env: NodeJS.ProcessEnv = process.env, io: ListIo = consoleIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        'no-checksum': { type: 'boolean', default: false },
        label: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.label !== undefined && labelProblem(values.label)) throw new Error(labelProblem(values.label));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${LIST_HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(LIST_HELP);
    return 0;
  }
  try {
    const listing = await listBackups({
      dir: values.dir ?? (env.BACKUP_DIR?.trim() || DEFAULTS.backupDir),
      label: values.label,
      checksums: !values['no-checksum'],
      configuredLabels: environmentsOf(env),
      env,
    });
    io.out(values.json ? JSON.stringify(listing, null, 2) : formatListing(listing));
    return listing.backups.some((b) => b.checksum === 'MISMATCH') ? 1 : 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`configuration error: ${err.message}`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    io.err(`cannot list backups: ${code ? `${code} ${(err as NodeJS.ErrnoException).path ?? ''}`.trim() : (err as Error).message}`);
    return 1;
  }
}
