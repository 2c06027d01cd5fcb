import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program';
import { ConnectTimeout, connectFailure, plainReason } from '../../src/temporal/connect-failure';
import { temporalConnectConfig } from '../../src/temporal/connection';

/** Nothing listens on port 1: a connect is refused at once, no server needed. */
const REFUSED = '127.0.0.1:1';
const API_KEY = 'not-a-real-key-5f2c9a';

async function cli(argv: string[], env: Record<string, string>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
  // PATH as a worker has it: start-up checks look for pg_dump and psql there.
  const code = await runCli(argv, { env: { PATH: process.env.PATH!, ...env }, io });
  return { code, text: lines.join('\n') };
}

describe('a command that cannot reach Temporal', () => {
  it.each([
    [['backup'], {}],
    [['schedule', 'describe'], {}],
    [['schedule'], {}],
    [['freshness', 'trigger'], {}],
    [['worker'], { DATABASE_URL: 'postgresql://u@localhost/db' }],
    [['watchdog'], { BACKUP_WATCHDOG_TASK_QUEUE: 'wd' }],
  ] as Array<[string[], Record<string, string>]>)(
    '`%s` says where it tried, which variable set it and why (exit code 1), at once and without the API key',
    async (argv, env) => {
      const started = Date.now();
      const { code, text } = await cli(argv, { ...env, TEMPORAL_ADDRESS: REFUSED, TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' });
      expect(text).toMatch(/failed: cannot reach Temporal at 127\.0\.0\.1:1 \(TEMPORAL_ADDRESS, namespace default\): connection refused/);
      expect(text).not.toContain(API_KEY);
      expect(text).not.toMatch(/tonic|deadline/i);
      expect(code).toBe(1);
      // The SDK alone would wait 10 s; under a loaded CI machine loading the worker takes a few.
      expect(Date.now() - started).toBeLessThan(8_000);
    },
  );

  it.each([[['backup']], [['schedule', 'apply']], [['worker']], [['watchdog']]])(
    '`%s` with a malformed TEMPORAL_ADDRESS is a configuration error naming it (exit code 2)',
    async (argv) => {
      const { code, text } = await cli(argv, {
        TEMPORAL_ADDRESS: 'garbage:abc',
        DATABASE_URL: 'postgresql://u@localhost/db',
        BACKUP_WATCHDOG_TASK_QUEUE: 'wd',
      });
      expect(text).toBe('configuration error: TEMPORAL_ADDRESS: expected host or host:port (e.g. temporal.example.com:7233, no scheme), got "garbage:abc"');
      expect(code).toBe(2);
    },
  );

  it('rejects a port out of range and a scheme as malformed', async () => {
    for (const address of ['localhost:99999', 'http://localhost:7233']) {
      const { code, text } = await cli(['backup'], { TEMPORAL_ADDRESS: address });
      expect(text).toMatch(/^configuration error: TEMPORAL_ADDRESS: expected host or host:port/);
      expect(code).toBe(2);
    }
  });
});

describe('why a connect failed, in plain words', () => {
  const plain = { tls: false, apiKey: false };
  it.each([
    // grpc-js (the client commands)
    ['No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ', plain, 'connection refused (nothing listens there)'],
    ['Name resolution failed for target dns:nonexistent.invalid:7233', plain, 'host name not found (DNS lookup failed)'],
    [
      'No connection established. Last error: Error: self-signed certificate. Resolution note: ',
      { tls: true, apiKey: false },
      'TLS handshake failed (self-signed certificate): check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME',
    ],
    [
      'No connection established. Last error: Failed to connect (2026-01-01T02:35:08.472Z). Resolution note: ',
      plain,
      'the server closed the connection: if it expects TLS, set TEMPORAL_TLS=true',
    ],
    [
      'No connection established. Last error: Protocol error (2026-01-01T02:40:13.297Z). Resolution note: ',
      plain,
      "the server does not speak gRPC (is this Temporal's frontend port, 7233 by default, not its Web UI?)",
    ],
    ['No connection established. Last error: something new (2026-01-01T02:40:13.297Z). Resolution note: ', plain, 'something new'],
    // tonic (the workers' NativeConnection)
    [
      'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))',
      plain,
      'connection refused (nothing listens there)',
    ],
    [
      'tonic::transport::Error(Transport, ConnectError(ConnectError("dns error", Custom { kind: Uncategorized, error: "failed to lookup address information: Name or service not known" })))',
      plain,
      'host name not found (DNS lookup failed)',
    ],
    [
      'Failed to call GetSystemInfo: code: \'The operation was cancelled\', message: "Timeout expired", source: tonic::transport::Error(Transport, TimeoutExpired(()))',
      plain,
      'no answer in time (a firewall, or the wrong host?)',
    ],
    [
      'tonic::transport::Error(Transport, ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))',
      { tls: true, apiKey: false },
      'TLS handshake failed (InvalidCertificate: UnknownIssuer): check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME',
    ],
    [
      'tonic::transport::Error(Transport, ConnectError(Custom { kind: InvalidData, error: InvalidMessage(InvalidContentType) }))',
      { tls: true, apiKey: true },
      'TLS handshake failed: the server does not answer in TLS (TEMPORAL_TLS, or TEMPORAL_API_KEY which implies it, may not be meant for this server)',
    ],
    [
      'Failed to call GetSystemInfo: code: \'Unknown error\', message: "transport error", source: tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a broken pipe" }))',
      plain,
      'the server closed the connection: if it expects TLS, set TEMPORAL_TLS=true',
    ],
    [
      'Failed to call GetSystemInfo: code: \'The operation was cancelled\', message: "operation was canceled", source: tonic::transport::Error(Transport, hyper::Error(Canceled))',
      plain,
      'operation was canceled (The operation was cancelled)',
    ],
  ])('%s', (message, target, expected) => {
    expect(plainReason(new Error(message), target)).toBe(expected);
  });

  it('names the API key as the likely fix for refused credentials, without its value', () => {
    const denied = Object.assign(new Error('Failed to connect to Temporal server'), {
      cause: Object.assign(new Error('16 UNAUTHENTICATED: Request unauthorized.'), { code: 16, details: 'Request unauthorized.' }),
    });
    expect(plainReason(denied, { tls: true, apiKey: true })).toBe('the server refused the credentials (Request unauthorized.): check TEMPORAL_API_KEY');
    expect(plainReason(denied, { tls: false, apiKey: false })).toMatch(/it may need TEMPORAL_API_KEY or a client certificate/);
  });

  it('says how long it waited', () => {
    expect(plainReason(new ConnectTimeout(10_000), { tls: false, apiKey: false })).toBe('no answer within 10s');
  });
});

describe('what a connect failure never prints', () => {
  it('gRPC metadata values, the API key and each line of a multi-line one, even where the message quotes them', () => {
    const env = { TEMPORAL_ADDRESS: REFUSED, TEMPORAL_API_KEY: 'Bearer line1SECRET\nline2SECRET', TEMPORAL_GRPC_META_X_AUTH: 'token-SECRET-4711' };
    const { target, secrets } = temporalConnectConfig(env);
    for (const quoted of [
      'Metadata string value "token-SECRET-4711" contains illegal characters',
      'bad header: Bearer line1SECRET',
      'Bearer line1SECRET\nline2SECRET rejected',
    ]) {
      const message = connectFailure(new Error(quoted), target, secrets).message;
      expect(message).not.toMatch(/SECRET/);
      expect(message).toContain(`cannot reach Temporal at ${REFUSED}`);
    }
  });

  it('a profile or TLS file that cannot be read is a configuration error naming the setting (exit code 2)', async () => {
    const profile = await cli(['backup'], { TEMPORAL_PROFILE: 'nope' });
    expect(profile.text).toMatch(/^configuration error: TEMPORAL_PROFILE: /);
    expect(profile.code).toBe(2);
    const cert = await cli(['backup'], {
      TEMPORAL_ADDRESS: REFUSED,
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent/client.pem',
      TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent/client.key',
    });
    expect(cert.text).toMatch(/^configuration error: TEMPORAL_TLS_CLIENT_(CERT|KEY)_PATH: /);
    expect(cert.code).toBe(2);
  });
});
