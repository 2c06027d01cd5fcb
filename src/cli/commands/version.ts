import type { Command } from 'commander';
import { EXIT, type CliContext, type Runner } from '../program';

export function defineVersion(program: Command, ctx: CliContext, run: Runner): void {
  program.version(packageVersion('../../../package.json'), '-V, --version', "print this tool's version");
  program
    .command('version')
    .summary('print the versions of this tool, Node.js and the Temporal SDK')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nEnvironment: none.')
    .action((flags: { json?: boolean }) =>
      run('version', async () => {
        const versions = {
          'pg-backup-workflow': packageVersion('../../../package.json'),
          node: process.versions.node,
          '@temporalio/worker': packageVersion('@temporalio/worker/package.json'),
        };
        ctx.io.out(
          flags.json
            ? JSON.stringify(versions, null, 2)
            : Object.entries(versions)
                .map(([name, version]) => `${name} ${version}`)
                .join('\n'),
        );
        return EXIT.ok;
      }),
    );
}

function packageVersion(file: string): string {
  return (require(file) as { version: string }).version;
}
