import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPruneConfig, loadWorkerConfig } from '../../src/config';
import { loadCopyConfig } from '../../src/config/copies';
import { loadFreshnessScheduleConfig, loadStandaloneWatchdogConfig, loadWatchdogConfig } from '../../src/config/freshness';
import type { CommandName } from '../../src/config/option-types';
import { allOptions, definitionOf, libpqEnvironment, option, secretValues } from '../../src/config/registry';
import { loadScheduleConfig } from '../../src/config/schedule';
import { withReference } from '../../scripts/generate-docs';
import { runCli } from '../../src/cli/program';

const ROOT = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** An environment that records every variable read from it. */
function recording(values: Record<string, string> = {}): { env: Record<string, string | undefined>; read: Set<string> } {
  const read = new Set<string>();
  const env = new Proxy(values as Record<string, string | undefined>, {
    get(target, name) {
      if (typeof name !== 'string') return undefined;
      read.add(name);
      return target[name];
    },
    ownKeys: (target) => Reflect.ownKeys(target),
    getOwnPropertyDescriptor: (target, name) => Reflect.getOwnPropertyDescriptor(target, name),
  });
  return { env, read };
}

describe('the option registry', () => {
  it('is the only reader of settings: no process.env or env.NAME read anywhere else in src/', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      if (file.endsWith(path.join('config', 'registry.ts'))) continue;
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Passing the whole environment on is fine; reading one variable out of it is not.
          const reads = /process\.env\s*(\.|\[)|\benv\.[A-Z][A-Z0-9_]*\b(?!\s*=[^=])|\benv\[\s*['"`]/.test(line);
          if (reads) offenders.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('generates the README option reference, which is up to date', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(withReference(readme)).toBe(readme);
    for (const { name } of allOptions()) expect(readme).toContain(`| \`${name}\` |`);
  });

  it.each<[CommandName, (env: Record<string, string | undefined>) => unknown, Record<string, string>]>([
    ['worker', loadWorkerConfig, { DATABASE_URL: 'postgresql://u@h/db', DATABASE_URL_STAGING: 'postgresql://u@h/s', BACKUP_S3_BUCKET: 'b-1' }],
    ['worker', loadCopyConfig, { BACKUP_COPY_DIR: '/mnt/nas' }],
    ['schedule', loadScheduleConfig, {}],
    ['schedule', loadFreshnessScheduleConfig, {}],
    ['freshness', loadFreshnessScheduleConfig, {}],
    ['worker', loadWatchdogConfig, {}],
    ['watchdog', loadStandaloneWatchdogConfig, { BACKUP_WATCHDOG_TASK_QUEUE: 'backup-watchdog' }],
    ['prune', loadPruneConfig, { DATABASE_URL: 'postgresql://u@h/db', DATABASE_URL_STAGING: 'postgresql://u@h/s' }],
  ])('says which variables `%s` reads (%o reads no other)', (command, load, values) => {
    const { env, read } = recording(values);
    load(env);
    const undeclared = [...read].filter((name) => !definitionOf(name)?.def.commands.includes(command));
    expect(undeclared).toEqual([]);
  });

  it('reads booleans, durations and lists by one rule each, naming the variable', () => {
    expect(option({ BACKUP_VERIFY: 'FALSE' }, 'BACKUP_VERIFY')).toBe(false);
    expect(() => option({ BACKUP_VERIFY: 'yes' }, 'BACKUP_VERIFY')).toThrow(/^BACKUP_VERIFY: expected true or false, got "yes"$/);
    expect(() => option({ BACKUP_S3_FORCE_PATH_STYLE: '1' }, 'BACKUP_S3_FORCE_PATH_STYLE')).toThrow(/^BACKUP_S3_FORCE_PATH_STYLE: expected true or false/);
    expect(option({ BACKUP_RETRY_INTERVAL: '90s' }, 'BACKUP_RETRY_INTERVAL')).toBe(90_000);
    expect(option({ BACKUP_MAX_AGE: '1500' }, 'BACKUP_MAX_AGE')).toBe(1500);
    expect(() => option({ BACKUP_MAX_AGE: 'a day' }, 'BACKUP_MAX_AGE')).toThrow(/^BACKUP_MAX_AGE: expected a positive duration/);
    expect(option({ BACKUP_ENVIRONMENTS: ' a , b ' }, 'BACKUP_ENVIRONMENTS')).toEqual(['a', 'b']);
    expect(() => option({ BACKUP_ENVIRONMENTS: 'a,a' }, 'BACKUP_ENVIRONMENTS')).toThrow(/^BACKUP_ENVIRONMENTS: lists "a" twice$/);
    expect(() => option({ BACKUP_ENVIRONMENTS: 'a,,b' }, 'BACKUP_ENVIRONMENTS')).toThrow(/^BACKUP_ENVIRONMENTS: has an empty label/);
    expect(option({ BACKUP_ENVIRONMENTS: '  ' }, 'BACKUP_ENVIRONMENTS')).toBeUndefined();
  });

  it('never echoes a secret in an error, and lists the secrets to redact', () => {
    let message = '';
    try {
      option({ SLACK_WEBHOOK_URL: 'hooks example com/T0/B0/s3cr3t-token' }, 'SLACK_WEBHOOK_URL');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^SLACK_WEBHOOK_URL: expected an http\(s\) URL/);
    expect(message).not.toContain('s3cr3t');
    expect(secretValues({ SLACK_WEBHOOK_URL: 'https://x/s3cr3t', PGPASSWORD: 'pw-123', AWS_SECRET_ACCESS_KEY: 'aws-456', BACKUP_DIR: '/b' }).sort()).toEqual(
      ['aws-456', 'https://x/s3cr3t', 'pw-123'].sort(),
    );
  });

  it("gives pg_dump and psql only PATH, locale, HOME and libpq's variables", () => {
    const env = libpqEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/backup',
      LANG: 'C.UTF-8',
      PGPASSFILE: '/etc/pgpass',
      PGSSLMODE: 'verify-full',
      AWS_SECRET_ACCESS_KEY: 'aws',
      SLACK_WEBHOOK_URL: 'https://hooks/x',
      DATABASE_URL_STAGING: 'postgresql://u:pw@h/s',
      TEMPORAL_API_KEY: 'key',
      PG_BINDIR: '/usr/lib/postgresql/17/bin',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/backup',
      LANG: 'C.UTF-8',
      PGPASSFILE: '/etc/pgpass',
      PGSSLMODE: 'verify-full',
      PGAPPNAME: 'pg-backup-workflow',
    });
  });

  it('shows every default as text, whatever the type of the value', () => {
    for (const { name, def } of allOptions()) {
      if (def.default !== undefined) expect(typeof def.default, name).toBe('string');
    }
  });

  it.each([
    ['worker'],
    ['backup'],
    ['schedule'],
    ['schedule', 'apply'],
    ['schedule', 'trigger'],
    ['schedule', 'pause'],
    ['freshness', 'describe'],
    ['freshness'],
    ['list'],
    ['restore'],
    ['prune'],
    ['start'],
    ['dev'],
    ['watchdog'],
    ['bench'],
    ['version'],
  ] as string[][])('`%s %s --help` prints the command and the variables it reads, and exits 0', async (...command) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli([...command.filter(Boolean), '--help'], { env: {}, io: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    expect(err.join('\n')).toBe('');
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/^Usage: pg-backup-workflow /m);
    const environment = out.join('\n').split(/^Environment/m)[1];
    expect(environment).toBeDefined();
    // The variables read as plain text: no Markdown left, no sentence cut at "e.g.".
    expect(environment).not.toMatch(/`|\*\*|\\\||e\.g\.$/m);
    // A default subcommand's hidden argument (it catches typos) is not shown.
    expect(out.join('\n')).not.toMatch(/apply \[command\]|apply \[options\] \[command\]/);
  });

  it('`--version` prints the version and exits 0', async () => {
    const out: string[] = [];
    expect(await runCli(['--version'], { env: {}, io: { out: (t) => out.push(t), err: () => undefined } })).toBe(0);
    expect(out.join('\n')).toMatch(/^pg-backup-workflow \d+\.\d+\.\d+$/m);
  });

  it("lists `TEMPORAL_*`'s variables with their `*` in `worker --help`", async () => {
    const out: string[] = [];
    await runCli(['worker', '--help'], { env: {}, io: { out: (t) => out.push(t), err: () => undefined } });
    expect(out.join('\n')).toContain('TEMPORAL_GRPC_META_*');
    expect(out.join('\n')).toMatch(/DATABASE_URL_<LABEL> +The database for one environment label, e\.g\. DATABASE_URL_DEVELOPMENT/);
  });

  it('`prune` reads only what it needs, and refuses a backup directory that is not there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbw-prune-cli-'));
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const env = { DATABASE_URL: 'postgresql://u@h/db', BACKUP_DIR: dir, BACKUP_RETRY_INTERVAL: 'soon', BACKUP_COMPRESSION: 'lz4' };
    expect(await runCli(['prune', '--dry-run'], { env, io })).toBe(0);
    expect(lines).toEqual([`production in ${dir}: keep 0, would remove 0`]);
    lines.length = 0;
    expect(await runCli(['prune', '--dry-run'], { env: { ...env, BACKUP_DIR: path.join(dir, 'missing') }, io })).toBe(1);
    expect(lines.join('\n')).toContain(`cannot read the backup directory ${path.join(dir, 'missing')}: it does not exist`);
    fs.rmSync(dir, { recursive: true });
  });
});
