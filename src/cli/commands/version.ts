import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { EXIT, type CliContext, type Runner } from '../program';

export function defineVersion(program: Command, ctx: CliContext, run: Runner): void {
  program
    .command('version')
    .summary('print the versions of this tool, Node.js and the Temporal SDK')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nEnvironment: none.')
    .action((flags: { json?: boolean }) =>
      run('version', async () => {
        const versions = {
          'pg-backup-workflow': packageVersion(ownPackageJson()),
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

/** This project's package.json, found upwards from here: the sources, `lib/` and any other build directory. */
function ownPackageJson(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate) && (JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string }).name === 'pg-backup-workflow') return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no package.json of pg-backup-workflow above ${__dirname}`);
  }
}
