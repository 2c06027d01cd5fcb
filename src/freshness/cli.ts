import { reportCliFailure } from '../schedule/cli-errors';
import { parseArgs } from 'node:util';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { connectClient } from '../schedule/connect';
import { loadFreshnessScheduleConfig, type FreshnessScheduleConfig } from './config';
import { localTime } from './message';
import { upsertFreshnessSchedule } from './schedule';
import { formatAge, type FreshnessResult } from './state';

export const FRESHNESS_HELP = `Usage: npx tsx src/freshness/cli.ts [apply|describe|trigger|delete]

Manages the backup freshness Schedule (\`npm run schedule\` also applies it).
  apply      create or update it in place (the default)
  describe   its settings and the outcome of the latest check, per label
  trigger    check now, through the schedule
  delete     remove it

Environment: BACKUP_FRESHNESS_SCHEDULE_ID, BACKUP_MAX_AGE, BACKUP_FRESHNESS_INTERVAL,
BACKUP_ENVIRONMENTS / BACKUP_ENVIRONMENT, BACKUP_WATCHDOG_TASK_QUEUE, BACKUP_TIMEZONE, TEMPORAL_*.`;

const COMMANDS = ['apply', 'describe', 'trigger', 'delete'] as const;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}
const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Resolves to the exit code: 0 done, 1 failed, 2 usage or configuration error. */
export async function runFreshnessCli(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = consoleIo): Promise<number> {
  let command: (typeof COMMANDS)[number];
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      io.out(FRESHNESS_HELP);
      return 0;
    }
    const given = positionals[0] ?? 'apply';
    if (!(COMMANDS as readonly string[]).includes(given) || positionals.length > 1) throw new Error(`unknown command ${JSON.stringify(positionals.join(' '))}`);
    command = given as (typeof COMMANDS)[number];
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${FRESHNESS_HELP}`);
    return 2;
  }
  let connection: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    const config = loadFreshnessScheduleConfig(env);
    connection = await connectClient(env);
    const handle = connection.client.schedule.getHandle(config.scheduleId);
    if (command === 'apply') io.out((await upsertFreshnessSchedule(connection.client, config)).summary);
    if (command === 'describe') io.out(await describeFreshness(connection.client, config, env.BACKUP_TIMEZONE?.trim() || 'UTC'));
    if (command === 'trigger') {
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      io.out(`triggered ${config.scheduleId}`);
    }
    if (command === 'delete') {
      await handle.delete();
      io.out(`deleted ${config.scheduleId}`);
    }
    return 0;
  } catch (err) {
    return reportCliFailure(err, `freshness ${command}`, io);
  } finally {
    await connection?.close();
  }
}

/** Settings, then each label's state as the latest finished check saw it. */
export async function describeFreshness(client: Client, config: FreshnessScheduleConfig, timeZone: string): Promise<string> {
  const d = await client.schedule.getHandle(config.scheduleId).describe();
  const lines = [
    `schedule ${config.scheduleId}: ${d.state.paused ? 'PAUSED' : 'active'}${d.state.note ? ` (note: ${d.state.note})` : ''}`,
    `  next check:  ${d.info.nextActionTimes[0]?.toISOString() ?? '-'}`,
  ];
  let latest: FreshnessResult | undefined;
  for (const { action } of [...d.info.recentActions].reverse()) {
    latest = await client.workflow
      .getHandle(action.workflow.workflowId, action.workflow.firstExecutionRunId)
      .result()
      .then((r) => r as FreshnessResult)
      .catch(() => undefined);
    if (latest) break;
  }
  if (!latest) return [...lines, '  latest check: none finished yet'].join('\n');
  lines.push(`  latest check: ${latest.checkedAt}`);
  for (const l of latest.labels) {
    const last = l.last ? `${localTime(l.last.closedAt, timeZone)} (${formatAge(l.ageMs ?? 0)} ago)${l.last.fileName ? ` ${l.last.fileName}` : ''}` : 'never';
    lines.push(`    ${l.environment.padEnd(16)} ${l.fresh ? 'fresh' : 'STALE'}${l.alerting ? ' (alerted)' : ''}  last success: ${last}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  runFreshnessCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
