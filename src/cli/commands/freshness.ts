import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { FreshnessScheduleConfig } from '../../config/freshness';
import { withTemporalClient } from '../with-client';
import { withOptionsHelp, withUnknownCommandCheck, type CliContext, type Runner } from '../program';

const NAMES = ['apply', 'describe', 'trigger', 'delete'];

type Action = (client: Client, config: FreshnessScheduleConfig, flags: { json?: boolean }) => Promise<void>;

/** `freshness <apply|describe|trigger|delete>`: the hourly check that alerts when a label has no recent successful backup. */
export function defineFreshness(program: Command, ctx: CliContext, run: Runner): void {
  const freshness = withOptionsHelp(
    program
      .command('freshness')
      .summary('manage the freshness alarm schedule: apply, describe, trigger, delete')
      .description('Manages the backup freshness Schedule (`schedule apply` applies it too). Without a command: apply.'),
    'freshness',
  ).helpCommand(false);
  const sub = (name: string, summary: string, action: Action, isDefault = false) =>
    withOptionsHelp(withUnknownCommandCheck(freshness.command(name, { isDefault }).description(summary), isDefault, NAMES), 'freshness').action(
      (...args: unknown[]) => {
        const flags = args.at(-2) as { json?: boolean };
        return run(`freshness ${name}`, () => withFreshness(ctx, (client, config) => action(client, config, flags)));
      },
    );

  sub(
    'apply',
    'create it, or update it in place (keeps a pause and its note)',
    async (client, config) => {
      const { upsertFreshnessSchedule } = await import('../../freshness/schedule');
      ctx.io.out((await upsertFreshnessSchedule(client, config)).summary);
    },
    true,
  );
  sub('describe', 'its settings and the outcome of the latest check, per label', async (client, config, flags) => {
    const [{ describeFreshness, formatFreshness }, { option }] = await Promise.all([import('../../freshness/describe'), import('../../config/registry')]);
    const description = await describeFreshness(client, config);
    ctx.io.out(flags.json ? JSON.stringify(description, null, 2) : formatFreshness(description, option(ctx.env, 'BACKUP_TIMEZONE')));
  }).option('--json', 'machine-readable output');
  sub('trigger', 'check now, through the schedule', async (client, config) => {
    const { ScheduleOverlapPolicy } = await import('@temporalio/client');
    await client.schedule.getHandle(config.scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
    ctx.io.out(`triggered ${config.scheduleId}`);
  });
  sub('delete', 'remove it', async (client, config) => {
    await client.schedule.getHandle(config.scheduleId).delete();
    ctx.io.out(`deleted ${config.scheduleId}`);
  });
}

async function withFreshness(ctx: CliContext, action: (client: Client, config: FreshnessScheduleConfig) => Promise<void>): Promise<number> {
  const { loadFreshnessScheduleConfig } = await import('../../config/freshness');
  return withTemporalClient(ctx, loadFreshnessScheduleConfig, action);
}
