import { redact } from '../config/redact';

/** Where a command tries to reach Temporal, as its messages name it: never a key or a certificate. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  /** The setting that chose the address: `TEMPORAL_ADDRESS`, a profile, the default, or a dev server this process started. */
  addressFrom: string;
  tls: boolean;
  apiKey: boolean;
}

/**
 * Temporal could not be reached: one sentence for every command, naming the address, where it
 * came from and the namespace, then why in plain words (exit code 1: the configuration is
 * well-formed, the server is not there or will not talk).
 */
export class TemporalUnreachable extends Error {
  constructor(
    readonly target: TemporalTarget,
    readonly reason: string,
  ) {
    super(`cannot reach Temporal at ${target.address} (${target.addressFrom}, namespace ${target.namespace}): ${reason}`);
    this.name = 'TemporalUnreachable';
  }
}

/** Our own deadline for the first contact (the SDK's says only "Failed to connect before the deadline"). */
export class ConnectTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms / 1000}s`);
    this.name = 'ConnectTimeout';
  }
}

/** A failed connect, from grpc-js (the client) or the Rust core (NativeConnection, the workers), as a TemporalUnreachable. */
export function connectFailure(err: unknown, target: TemporalTarget, secrets: string[]): TemporalUnreachable {
  if (err instanceof TemporalUnreachable) return err;
  // Redacted before anything is cut short: a cut can leave a secret's first line unrecognised.
  return new TemporalUnreachable(target, redact(plainReason(redacted(err, secrets), target), secrets));
}

/** The error's texts (message, gRPC details, causes) with the secrets replaced, for plainReason to read. */
function redacted(err: unknown, secrets: string[]): unknown {
  if (!(err instanceof Error)) return redact(String(err), secrets);
  const copy = new Error(redact(err.message, secrets), { cause: err.cause === undefined ? undefined : redacted(err.cause, secrets) });
  const { code, details } = err as { code?: unknown; details?: unknown };
  Object.assign(copy, { code, details: typeof details === 'string' ? redact(details, secrets) : details });
  return copy;
}

const GRPC_UNAUTHENTICATED = 16;
const GRPC_PERMISSION_DENIED = 7;

/**
 * Why, in plain words, with a hint only where one setting is the likely fix. Both transports'
 * texts are matched: grpc-js (`connect ECONNREFUSED 127.0.0.1:1`) and tonic's debug strings
 * (`ConnectError("tcp connect error", …, ConnectionRefused …)`). Anything else keeps a short
 * tail of the original, so nothing is lost.
 */
export function plainReason(err: unknown, target: Pick<TemporalTarget, 'tls' | 'apiKey'>): string {
  if (err instanceof ConnectTimeout) return err.message;
  const text = errorText(err);
  const code = grpcCode(err);
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(text)) return 'connection refused (nothing listens there)';
  if (/Name resolution failed|ENOTFOUND|EAI_AGAIN|EAI_NONAME|dns error|failed to lookup address/i.test(text)) return 'host name not found (DNS lookup failed)';
  if (
    code === GRPC_UNAUTHENTICATED ||
    code === GRPC_PERMISSION_DENIED ||
    /Unauthenticated|PermissionDenied|Request unauthorized|does not have valid authentication|does not have permission/i.test(text)
  ) {
    return `the server refused the credentials (${shortTail(grpcDetails(err) ?? text)}): ${
      target.apiKey
        ? 'check TEMPORAL_API_KEY'
        : 'it may need TEMPORAL_API_KEY or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)'
    }`;
  }
  if (/InvalidContentType|wrong version number|packet length too long/i.test(text)) {
    return 'TLS handshake failed: the server does not answer in TLS (TEMPORAL_TLS, or TEMPORAL_API_KEY which implies it, may not be meant for this server)';
  }
  if (/certificate|CERT_|InvalidCertificate|UnknownIssuer|NotValidForName|CaUsedAsEndEntity|SSL|handshake/i.test(text)) {
    return `TLS handshake failed (${tlsDetail(text)}): check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME`;
  }
  if (/Deadline exceeded|TimeoutExpired|Timeout expired|ETIMEDOUT|timed out/i.test(text)) return 'no answer in time (a firewall, or the wrong host?)';
  // Something answered, but not in HTTP/2: a web server, e.g. the Web UI's port.
  if (/Protocol error|h2 protocol error|GoAway/i.test(text))
    return "the server does not speak gRPC (is this Temporal's frontend port, 7233 by default, not its Web UI?)";
  // A plain client at a TLS port: the server hangs up during the HTTP/2 preface.
  if (/Failed to connect \(|broken pipe|ECONNRESET|connection reset|Connection dropped/i.test(text)) {
    return `the server closed the connection${target.tls ? '' : ': if it expects TLS, set TEMPORAL_TLS=true'}`;
  }
  return unrecognised(grpcDetails(err) ?? text);
}

/** The informative part of a text no pattern knows: grpc-js's last error, tonic's message and code, else its start. */
function unrecognised(text: string): string {
  const lastError = /Last error: (?:Error: )?(.*?)(?: \(\d{4}-[^)]*\))?\.? Resolution note/.exec(text)?.[1];
  if (lastError) return shortTail(lastError);
  const tonic = /code: '([^']*)', message: "([^"]*)"/.exec(text);
  if (tonic) return shortTail(`${tonic[2]} (${tonic[1]})`);
  return shortTail(text);
}

/** The messages of the error and its causes, and grpc-js's `details`: what the patterns look in. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    const details = (e as { details?: unknown }).details;
    if (typeof details === 'string') parts.push(details);
    if (!(e instanceof Error)) break;
  }
  return parts.join(' | ');
}

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

function grpcDetails(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const details = (e as { details?: unknown }).details;
    if (typeof details === 'string' && details) return details;
  }
  return undefined;
}

/** grpc-js: the text after "Last error: Error:"; tonic: the innermost name, e.g. `UnknownIssuer`. */
function tlsDetail(text: string): string {
  const lastError = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note|$)/.exec(text)?.[1];
  if (lastError) return shortTail(lastError);
  const names = text.match(/\b[A-Z][A-Za-z]+\b/g)?.filter((n) => !/^(Error|Transport|ConnectError|Custom|Other|OtherError|InvalidData)$/.test(n));
  return names?.length ? names.slice(-2).join(': ') : shortTail(text);
}

/** The first line, at most 160 characters: a Rust debug string can run to several hundred. */
function shortTail(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
