import { isPort } from '../common/port';
import { ConfigError } from './config-error';
import { option, type Env } from './registry';

/**
 * A PostgreSQL connection URI split so that its password never reaches a command line,
 * a log line or Temporal history: pg_dump gets `safeUri` as --dbname and the password
 * through PGPASSWORD.
 *
 * The split follows libpq's own URI grammar (first '@' before any '/' ends the user info,
 * comma-separated host lists, `?password=` parameters), because pg_dump is a libpq client.
 * Node-pg's parser is not used: it rejects multi-host URIs that libpq accepts.
 */
export interface DatabaseTarget {
  /** Where it came from, e.g. `DATABASE_URL` or `DATABASE_URL_DEVELOPMENT`. */
  variable: string;
  /** The URI without any password: safe for argv, logs and error messages. */
  safeUri: string;
  /** Decoded password, or undefined when the URI has none (PGPASSWORD / passfile then apply). */
  password?: string;
  /** Database name as libpq would resolve it (path, dbname=, PGDATABASE, user). */
  database: string;
  /** The role it connects as, when the URI or PGUSER names one (libpq would otherwise use the OS user): for messages. */
  user?: string;
}

// libpq recognises only these two lower-case prefixes; anything else it takes for a database name.
const SCHEME = /^(postgres(?:ql)?:\/\/)/;
/** One host of a host list: a name or IPv4 address, or a bracketed IPv6 address, then an optional port (checked apart). */
const HOST = /^(?:\[[0-9A-Fa-f:.%\w]*\]|[^\s:@/[\]?#]*)(?::([^\s:@/[\]?#]*))?$/;
/** A client-key passphrase has no environment variable in libpq: it could only travel in argv. */
const FORBIDDEN_PARAMS = ['sslpassword'];
const ENCODE_HINT = "percent-encode '@', ':', '/', '?', '#' and '%' in the user name and password (e.g. with encodeURIComponent)";

/** `env` is where libpq's PGDATABASE and PGUSER come from: they name the database when the URI does not. */
export function parseDatabaseUrl(raw: string, variable: string, env: Env = {}): DatabaseTarget {
  const scheme = SCHEME.exec(raw)?.[1];
  if (!scheme) {
    throw new ConfigError(variable, 'must be a URI starting with postgresql:// or postgres://');
  }
  const rest = raw.slice(scheme.length);

  // libpq: user info is everything before the first '@' that comes before any '/'.
  const at = firstIndex(rest, '@', '/');
  const userInfo = at >= 0 ? rest.slice(0, at) : '';
  const afterUser = at >= 0 ? rest.slice(at + 1) : rest;
  const colon = userInfo.indexOf(':');
  const user = decode(colon >= 0 ? userInfo.slice(0, colon) : userInfo, variable, 'user name');
  let password = colon >= 0 ? decode(userInfo.slice(colon + 1), variable, 'password') : undefined;

  const queryStart = afterUser.indexOf('?');
  const beforeQuery = queryStart >= 0 ? afterUser.slice(0, queryStart) : afterUser;
  const query = queryStart >= 0 ? afterUser.slice(queryStart + 1) : '';
  const slash = beforeQuery.indexOf('/');
  const hosts = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const path = slash >= 0 ? decode(beforeQuery.slice(slash + 1), variable, 'database name') : '';

  const keptParams: string[] = [];
  let dbnameParam: string | undefined;
  let dbUserParam: string | undefined;
  for (const pair of query ? query.split('&') : []) {
    const eq = pair.indexOf('=');
    const key = decode(eq >= 0 ? pair.slice(0, eq) : pair, variable, 'parameter name');
    const value = eq >= 0 ? decode(pair.slice(eq + 1), variable, `parameter ${key}`) : '';
    if (key === 'password') {
      password = value;
      continue;
    }
    if (FORBIDDEN_PARAMS.includes(key)) {
      throw new ConfigError(variable, `${key} cannot be given in the URI (it would be visible in the process list): use a libpq service file`);
    }
    if (key === 'dbname') dbnameParam = value;
    if (key === 'user') dbUserParam = value;
    keptParams.push(pair);
  }
  // A raw '@' or '/' in the user name or password shifts every later part; refuse rather than
  // let part of a password reach argv or an error message as a "host", "port" or "database".
  const hostMatches = hosts.split(',').map((h) => HOST.exec(h));
  if (hostMatches.some((m) => !m) || /[@/]/.test(path)) {
    throw new ConfigError(variable, `is not a valid postgresql:// URI: ${ENCODE_HINT}`);
  }
  // libpq would refuse it only when pg_dump runs. The port is not echoed: with an unencoded '/'
  // in the password, what looks like a port is part of the password.
  if (hostMatches.some((m) => m![1] && !isPort(m![1]))) {
    throw new ConfigError(variable, "has a port that is not a number from 1 to 65535 (a ':', '@' or '/' in the password must be percent-encoded)");
  }

  const database = path || dbnameParam || option(env, 'PGDATABASE') || user || option(env, 'PGUSER') || 'postgres';
  const userPart = colon >= 0 ? userInfo.slice(0, colon) : userInfo;
  const safeUri =
    scheme + (userPart ? `${userPart}@` : '') + hosts + (slash >= 0 ? beforeQuery.slice(slash) : '') + (keptParams.length ? `?${keptParams.join('&')}` : '');

  const role = user || dbUserParam || option(env, 'PGUSER') || undefined;
  return { variable, safeUri, password: password || undefined, database, ...(role ? { user: role } : {}) };
}

function firstIndex(text: string, wanted: string, stop: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === wanted) return i;
    if (text[i] === stop) return -1;
  }
  return -1;
}

function decode(text: string, variable: string, what: string): string {
  try {
    const decoded = decodeURIComponent(text);
    if (decoded.includes('\0')) throw new Error('NUL');
    return decoded;
  } catch {
    // Never echo the text: it may be (part of) the password.
    throw new ConfigError(variable, `${what} has invalid percent-encoding (encode reserved characters as %XX)`);
  }
}

/** The same connection pointed at another database (for the scratch database of a restore test). */
export function withDatabaseName(target: DatabaseTarget, database: string): DatabaseTarget {
  const scheme = SCHEME.exec(target.safeUri)![1];
  const rest = target.safeUri.slice(scheme.length);
  const queryStart = rest.indexOf('?');
  const beforeQuery = queryStart >= 0 ? rest.slice(0, queryStart) : rest;
  const params = (queryStart >= 0 ? rest.slice(queryStart + 1).split('&') : []).filter((p) => p && !p.startsWith('dbname='));
  const at = firstIndex(beforeQuery, '@', '/');
  const slash = beforeQuery.indexOf('/', at + 1);
  const authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const safeUri = `${scheme}${authority}/${encodeURIComponent(database)}${params.length ? `?${params.join('&')}` : ''}`;
  return { ...target, safeUri, database };
}
