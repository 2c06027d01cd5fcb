import { reportCliFailure } from './cli-errors';
import { parseArgs } from 'node:util';
import { loadFreshnessScheduleConfig, upsertFreshnessSchedule } from '../freshness/schedule';
import { loadScheduleConfig } from './config';
import { connectClient } from './connect';
import { applyBackupSchedules, deleteBackupSchedules, pauseBackupSchedules, schedulePurpose, triggerBackupSchedules, unpauseBackupSchedules } from './manage';
import { describeBackupSchedules, formatScheduleReport } from './report';

export const SCHEDULE_HELP = `Usage: npm run schedule -- [command] [--note TEXT]

Manages the daily backup Schedule(s) on Temporal. Every command acts on each schedule the
environment configures (one, or one per label in BACKUP_ENVIRONMENTS).

Commands:
  apply        create the schedule, or update it in place when it exists (the default)
  describe     settings, next run times and the results of recent runs
  pause        stop starting backups until unpaused; --note says why
  unpause      resume; --note optional
  trigger      start a backup now, through the schedule
  delete       remove the schedule (runs already started are not affected)

Environment:
  BACKUP_SCHEDULE_ID     schedule id (default daily-database-backup)
  BACKUP_SCHEDULE_TIME   time of day, HH:MM 24-hour (default 03:00)
  BACKUP_TIMEZONE        IANA zone of that time (default UTC)
  BACKUP_ENVIRONMENT     label to back up (default production)
  BACKUP_ENVIRONMENTS    comma-separated labels: one schedule each, id <BACKUP_SCHEDULE_ID>-<label>
  BACKUP_CATCHUP_WINDOW  how late a missed run may still start after an outage (default 1h)
  BACKUP_TASK_QUEUE      task queue of the backup workers (default backups)
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*  connection
`;

const COMMANDS = ['apply', 'describe', 'pause', 'unpause', 'trigger', 'delete'] as const;
type Command = (typeof COMMANDS)[number];

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Runs one schedule command; resolves to the process exit code (2: usage or configuration error). */
export async function runScheduleCli(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = consoleIo): Promise<number> {
  let command: Command;
  let note: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { note: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help || positionals[0] === 'help') {
      io.out(SCHEDULE_HELP);
      return 0;
    }
    const given = positionals[0] ?? 'apply';
    if (!(COMMANDS as readonly string[]).includes(given) || positionals.length > 1) {
      throw new Error(`unknown command ${JSON.stringify(positionals.join(' '))}; expected one of ${COMMANDS.join(', ')}`);
    }
    command = given as Command;
    if (values.note !== undefined && command !== 'pause' && command !== 'unpause') throw new Error('--note is for pause and unpause only');
    note = values.note;
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${SCHEDULE_HELP}`);
    return 2;
  }

  let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    // Configuration first: a typo must not need a reachable server to be reported.
    const config = loadScheduleConfig(env);
    const freshnessConfig = loadFreshnessScheduleConfig(env); // checked before connecting, like the rest
    connection = await connectClient(env);
    const { client } = connection;
    switch (command) {
      case 'apply':
        for (const { scheduleId, outcome } of await applyBackupSchedules(client, config)) {
          const target = config.targets.find((t) => t.scheduleId === scheduleId)!;
          io.out(`${outcome} schedule ${scheduleId}: ${schedulePurpose(config, target)}`);
        }
        io.out((await upsertFreshnessSchedule(client, freshnessConfig)).summary);
        break;
      case 'describe':
        io.out((await describeBackupSchedules(client, config)).map(formatScheduleReport).join('\n\n'));
        break;
      case 'pause':
        await pauseBackupSchedules(client, config, note);
        io.out(`paused ${ids(config)}`);
        break;
      case 'unpause':
        await unpauseBackupSchedules(client, config, note);
        io.out(`unpaused ${ids(config)}`);
        break;
      case 'trigger':
        await triggerBackupSchedules(client, config);
        io.out(`triggered ${ids(config)}: \`npm run schedule -- describe\` shows the run`);
        break;
      case 'delete':
        await deleteBackupSchedules(client, config);
        io.out(`deleted ${ids(config)}`);
        break;
    }
    return 0;
  } catch (err) {
    return reportCliFailure(err, `schedule ${command}`, io);
  } finally {
    await connection?.close();
  }
}

function ids(config: ReturnType<typeof loadScheduleConfig>): string {
  return config.targets.map((t) => t.scheduleId).join(', ');
}
