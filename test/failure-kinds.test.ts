import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawayCluster, withDatabase, type ThrowawayCluster } from '../src/dev/postgres-cluster';
import { classifyFailure, type FailureKind } from '../src/postgres/failure-kinds';
import { createFieldDatabase, type FieldDatabase } from './support/field-database';

/**
 * Each failure provoked for real on a private cluster, then classified: the messages the
 * unit tests hold are the ones this PostgreSQL prints today.
 */
let cluster: ThrowawayCluster;
let field: FieldDatabase;

beforeAll(async () => {
  cluster = await startThrowawayCluster();
  field = await createFieldDatabase(cluster.adminUrl, { prefix: 'fk' });
}, 240_000);

afterAll(async () => {
  await field?.cleanup().catch(() => undefined);
  await cluster?.stop();
});

function run(program: string, args: string[], url: string, options: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return spawnSync(program, [...args, u.toString()], {
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5', ...options.env },
  });
}

function expectKind(result: { status: number | null; stderr: string }, kind: FailureKind, retryable: boolean) {
  expect(result.status).not.toBe(0);
  const failure = classifyFailure(result.stderr, { role: 'someone' });
  expect({ kind: failure.kind, retryable: failure.retryable }, result.stderr).toEqual({ kind, retryable });
}

const psqlArgs = (sql: string) => ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password', '-c', sql];

describe('failures provoked on a real server are classified', () => {
  it('row-level security and large objects a pg_read_all_data role may not read', () => {
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], field.roles.backupRo.url), 'row-level-security', false);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], field.roles.backupRoBypassRls.url), 'permission-denied', false);
  });

  it('a restore as a role outside the owner roles, CREATE DATABASE without CREATEDB, untrusted and missing extensions', () => {
    expectKind(run('psql', psqlArgs(`ALTER TABLE app.orders OWNER TO ${field.roles.appOwner.name}`), field.roles.reader.url), 'permission-denied', false);
    expectKind(run('psql', psqlArgs('CREATE DATABASE nope'), field.roles.reader.url), 'permission-denied', false);
    expectKind(run('psql', psqlArgs('CREATE EXTENSION pg_stat_statements'), field.roles.appOwner.url), 'extension-not-permitted', false);
    expectKind(run('psql', psqlArgs('CREATE EXTENSION surely_not_installed'), field.roles.appOwner.url), 'extension-not-available', false);
    expectKind(run('psql', psqlArgs('CREATE POLICY p ON app.orders TO nobody_here USING (true)'), field.url), 'missing-object', false);
  });

  it('connection problems: wrong password, unknown host, nothing listening, missing database, SSL required, no free slot', () => {
    const wrong = new URL(field.roles.reader.url);
    wrong.password = 'wrong';
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], wrong.toString()), 'authentication', false);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], 'postgresql://x:y@nohost.invalid/db'), 'unknown-host', false);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], 'postgresql://x:y@127.0.0.1:1/db'), 'connection-refused', true);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], withDatabase(cluster.adminUrl, 'no_such_db')), 'missing-object', false);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], `${field.url}?sslmode=require`), 'ssl', false);
    spawnSync('psql', ['-Xq', '-c', `ALTER ROLE ${field.roles.reader.name} CONNECTION LIMIT 0`, cluster.adminUrl]);
    try {
      expectKind(run('pg_dump', ['--no-password', '-f', '/dev/null'], field.roles.reader.url), 'too-many-connections', true);
    } finally {
      spawnSync('psql', ['-Xq', '-c', `ALTER ROLE ${field.roles.reader.name} CONNECTION LIMIT -1`, cluster.adminUrl]);
    }
  });

  it('timeouts: a statement timeout is permanent, pg_dump --lock-wait-timeout behind a lock is not', async () => {
    expectKind(run('psql', psqlArgs('SET statement_timeout = 50; SELECT pg_sleep(1)'), field.url), 'statement-timeout', false);
    expectKind(
      run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password'], field.url, {
        input: 'SET idle_in_transaction_session_timeout = 100;\nBEGIN;\nSELECT 1;\n\\! sleep 1\nSELECT 2;\n',
      }),
      'statement-timeout',
      false,
    );
    const locker = spawn('psql', ['-Xq', `${field.url}?application_name=fk_locker`], { stdio: ['pipe', 'ignore', 'ignore'] });
    locker.stdin.write('BEGIN; LOCK TABLE app.orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(30);\n');
    await new Promise((resolve) => setTimeout(resolve, 700));
    try {
      expectKind(run('pg_dump', ['--no-password', '--lock-wait-timeout=300ms', '-f', '/dev/null'], field.url), 'lock-timeout', true);
    } finally {
      // Killing psql would leave its backend holding the lock until pg_sleep ends: end the backend.
      spawnSync('psql', ['-Xq', '-c', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fk_locker'", cluster.adminUrl]);
      locker.kill();
    }
  });

  it('the server ending the session, and a full disk', async () => {
    const victim = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', 'SELECT pg_sleep(20)', `${field.url}?application_name=fk_victim`]);
    let stderr = '';
    victim.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => victim.on('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 700));
    spawnSync('psql', ['-Xq', '-c', "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fk_victim'", cluster.adminUrl]);
    expectKind({ status: await exited, stderr }, 'server-terminated', true);
    expectKind(run('pg_dump', ['--no-password', '-f', '/dev/full'], field.url), 'disk-full', false);
  });
});
