import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { ScheduleConfig } from '../../config/schedule';
import { withTemporalClient } from '../with-client';
import { withOptionsHelp, withUnknownCommandCheck, type CliContext, type Runner } from '../program';

const NAMES = ['apply', 'describe', 'pause', 'unpause', 'trigger', 'delete'];

interface Flags {
  note?: string;
  json?: boolean;
}
type Action = (client: Client, config: ScheduleConfig, flags: Flags) => Promise<void>;

/**
 * `schedule <apply|describe|pause|unpause|trigger|delete>`: the daily backup Schedule(s), one per
 * configured label; `apply` also applies the freshness Schedule.
 */
export function defineSchedule(program: Command, ctx: CliContext, run: Runner): void {
  const schedule = withOptionsHelp(
    program
      .command('schedule')
      .summary('manage the daily backup schedule(s): apply, describe, pause, unpause, trigger, delete')
      .description(
        'Manages the daily backup Schedule(s) on Temporal. Every command acts on each schedule the environment configures (one, or one per label in BACKUP_ENVIRONMENTS). Without a command: apply.',
      ),
    'schedule',
  ).helpCommand(false);
  const sub = (name: string, summary: string, action: Action, isDefault = false) =>
    withOptionsHelp(withUnknownCommandCheck(schedule.command(name, { isDefault }).description(summary), isDefault, NAMES), 'schedule').action(
      (...args: unknown[]) => {
        const flags = args.at(-2) as Flags;
        return run(`schedule ${name}`, () => withSchedules(ctx, (client, config) => action(client, config, flags)));
      },
    );

  sub(
    'apply',
    "create the schedule, or update it in place when it exists (keeps a pause and its note); also the freshness schedule and the runs' search attributes",
    async (client, config) => {
      const [{ applyBackupSchedules, schedulePurpose }, { upsertFreshnessSchedule }, { loadFreshnessScheduleConfig }, { ensureAndDescribe }] =
        await Promise.all([
          import('../../schedule/manage'),
          import('../../freshness/schedule'),
          import('../../config/freshness'),
          import('../../temporal/search-attributes'),
        ]);
      const freshness = loadFreshnessScheduleConfig(ctx.env);
      // The runs' search attributes (label, database, …) first: where they cannot be created, say how, and go on.
      for (const line of await ensureAndDescribe(client.connection, client.options.namespace)) ctx.io.out(line);
      for (const { scheduleId, outcome } of await applyBackupSchedules(client, config)) {
        const target = config.targets.find((t) => t.scheduleId === scheduleId)!;
        ctx.io.out(`${outcome} schedule ${scheduleId}: ${schedulePurpose(config, target)}`);
      }
      ctx.io.out((await upsertFreshnessSchedule(client, freshness)).summary);
    },
    true,
  );
  sub('describe', 'settings, next run times and the results of recent runs', async (client, config, flags) => {
    const { describeBackupSchedules, formatScheduleReport, scheduleReportJson } = await import('../../schedule/report');
    const reports = await describeBackupSchedules(client, config);
    ctx.io.out(flags.json ? JSON.stringify(reports.map(scheduleReportJson), null, 2) : reports.map(formatScheduleReport).join('\n\n'));
  }).option('--json', 'machine-readable output');
  sub('pause', 'stop starting backups until unpaused; --note says why', async (client, config, flags) => {
    const { pauseBackupSchedules } = await import('../../schedule/manage');
    await pauseBackupSchedules(client, config, flags.note);
    ctx.io.out(`paused ${ids(config)}`);
  }).option('--note <text>', 'why, shown in describe and the Web UI (e.g. "db migration until 14:00")');
  sub('unpause', 'resume; --note optional', async (client, config, flags) => {
    const { unpauseBackupSchedules } = await import('../../schedule/manage');
    await unpauseBackupSchedules(client, config, flags.note);
    ctx.io.out(`unpaused ${ids(config)}`);
  }).option('--note <text>', 'shown in describe and the Web UI');
  sub('trigger', 'start a backup now, through the schedule (skipped while one of it runs)', async (client, config) => {
    const { triggerBackupSchedules } = await import('../../schedule/manage');
    await triggerBackupSchedules(client, config);
    ctx.io.out(`triggered ${ids(config)}: \`pg-backup-workflow schedule describe\` shows the run`);
  });
  sub('delete', 'remove the schedule (runs already started are not affected)', async (client, config) => {
    const { deleteBackupSchedules } = await import('../../schedule/manage');
    await deleteBackupSchedules(client, config);
    ctx.io.out(`deleted ${ids(config)}`);
  });
}

async function withSchedules(ctx: CliContext, action: (client: Client, config: ScheduleConfig) => Promise<void>): Promise<number> {
  const [{ loadScheduleConfig }, { loadFreshnessScheduleConfig }] = await Promise.all([import('../../config/schedule'), import('../../config/freshness')]);
  // `apply` applies the freshness schedule too: its settings are checked with the others.
  const loadBoth = (env: CliContext['env']) => {
    const config = loadScheduleConfig(env);
    loadFreshnessScheduleConfig(env);
    return config;
  };
  return withTemporalClient(ctx, loadBoth, action);
}

function ids(config: ScheduleConfig): string {
  return config.targets.map((t) => t.scheduleId).join(', ');
}
