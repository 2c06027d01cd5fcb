import { Argument, Command, CommanderError } from 'commander';
import type { Env } from '../config/registry';
import { optionsHelp } from '../config/docs';
import type { CommandName } from '../config/option-types';
import { defineBackup } from './commands/backup';
import { defineBench } from './commands/bench';
import { defineDev } from './commands/dev';
import { defineFreshness } from './commands/freshness';
import { defineList } from './commands/list';
import { definePrune } from './commands/prune';
import { defineRestore } from './commands/restore';
import { defineSchedule } from './commands/schedule';
import { defineStart } from './commands/start';
import { defineVersion } from './commands/version';
import { defineWatchdog } from './commands/watchdog';
import { defineWorker } from './commands/worker';
import { reportCliFailure, UsageError } from './errors';

/** Where a command reads its settings and writes its output: the process's, or a test's. */
export interface CliContext {
  env: Env;
  io: CliIo;
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const consoleIo: CliIo = { out: (text) => console.log(text), err: (text) => console.error(text) };

/** Exit codes: 0 done, 1 failed, 2 bad usage or configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Wraps a command's work: its resolved exit code is recorded; a thrown error is reported with the right code. */
export type Runner = (what: string, work: () => Promise<number>) => Promise<void>;

/**
 * `pg-backup-workflow <command>`: every operation in one tool, one `--help` per level. Each
 * command's help ends with the environment variables it reads, from the option registry.
 */
export async function runCli(argv: string[], partial: Partial<CliContext> = {}): Promise<number> {
  const ctx: CliContext = { env: partial.env ?? process.env, io: partial.io ?? consoleIo };
  let exitCode: number = EXIT.ok;
  const run: Runner = async (what, work) => {
    try {
      exitCode = await work();
    } catch (err) {
      exitCode = reportCliFailure(err, what, ctx.io);
    }
  };
  const program = buildProgram(ctx, run);
  // `--version` is the `version` command: package.json is read only when asked (a worker never reads it).
  const args = argv.length === 1 && ['--version', '-V'].includes(argv[0]!) ? ['version'] : argv;
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportCliFailure(err, 'pg-backup-workflow', ctx.io);
  }
}

function buildProgram(ctx: CliContext, run: Runner): Command {
  const program = new Command('pg-backup-workflow')
    .description('Durable, observable PostgreSQL backups on Temporal.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.out(text.replace(/\n$/, '')),
      writeErr: (text) => ctx.io.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)')
    .helpCommand(false)
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failed, 2 bad usage or configuration. `pg-backup-workflow <command> --help` lists its options; `--version` is `version`.',
    );
  // Each command loads what it needs when it runs: `list` does not load the worker, nor `--help` anything.
  for (const define of [
    defineWorker,
    defineBackup,
    defineSchedule,
    defineFreshness,
    defineList,
    defineRestore,
    definePrune,
    defineStart,
    defineDev,
    defineWatchdog,
    defineBench,
    defineVersion,
  ]) {
    define(program, ctx, run);
  }
  return program;
}

/**
 * A parent command whose default subcommand runs when none is named (`schedule` = `schedule
 * apply`) would otherwise take a mistyped subcommand for an argument of the default one.
 */
export function withUnknownCommandCheck(command: Command, isDefault: boolean, known: string[]): Command {
  if (!isDefault) return command;
  // The argument only catches a mistyped command: help shows neither it nor it in the parent's list.
  command.parent?.configureHelp({
    subcommandTerm: (cmd) =>
      [cmd.name(), cmd.options.length ? '[options]' : '', ...cmd.registeredArguments.filter((a) => a !== hidden).map(argTerm)].filter(Boolean).join(' '),
  });
  const hidden = new Argument('[command]');
  return command
    .addArgument(hidden)
    .usage('[options]')
    .hook('preAction', (_this, actionCommand) => {
      const given = actionCommand.args[0];
      if (given !== undefined) throw new UsageError(`unknown command ${JSON.stringify(given)}; expected one of ${known.join(', ')}`);
    });
}

/** Adds the registry's environment variables for `name` to a command's help. */
export function withOptionsHelp(command: Command, name: CommandName): Command {
  return command.addHelpText('after', () => `\n${optionsHelp(name)}`);
}

function argTerm(arg: Argument): string {
  const name = `${arg.name()}${arg.variadic ? '...' : ''}`;
  return arg.required ? `<${name}>` : `[${name}]`;
}
