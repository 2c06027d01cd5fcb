import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { devServerSearchAttributeArgs } from '../../src/common/search-attributes';

/**
 * The docker-compose stack, checked without a Docker engine: the files must agree with each
 * other and with what the code actually reads. (`docker compose config` validates the schema;
 * these tests check the wiring the schema cannot see.)
 */

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

type Env = Record<string, string | null>;
interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Env | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  ports?: Array<string | { target: number; published?: string | number }>;
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

const composeText = read('docker-compose.yml');
const composeDoc = parseDocument(composeText);
const compose = composeDoc.toJS() as ComposeFile;
const dockerfile = read('Dockerfile');
const envExample = parseDotEnv(read('.env.example'));
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string | undefined> };

/** The text of every TypeScript source the worker and the schedule command are built from. */
const sourceText = listFiles(path.join(ROOT, 'src'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => fs.readFileSync(f, 'utf8'))
  .join('\n');
/** Variables @temporalio/envconfig reads (src/temporal-connection.ts hands it the environment). */
const envconfigText = fs
  .readdirSync(path.join(ROOT, 'node_modules/@temporalio/envconfig/lib'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => fs.readFileSync(path.join(ROOT, 'node_modules/@temporalio/envconfig/lib', f), 'utf8'))
  .join('\n');

/** Environment variables the official postgres image documents. */
const POSTGRES_IMAGE_VARIABLES = new Set([
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'POSTGRES_DB',
  'POSTGRES_INITDB_ARGS',
  'POSTGRES_INITDB_WALDIR',
  'POSTGRES_HOST_AUTH_METHOD',
  'PGDATA',
]);

const service = (name: string): Service => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${JSON.stringify(name)}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('is well-formed YAML with only Compose top-level keys', () => {
    expect(composeDoc.errors).toEqual([]);
    expect(composeDoc.warnings).toEqual([]);
    for (const key of Object.keys(compose)) {
      expect(['services', 'volumes', 'networks', 'configs', 'secrets', 'name', 'include'].includes(key) || key.startsWith('x-'), key).toBe(true);
    }
    expect(Object.keys(compose.services).sort()).toEqual(expect.arrayContaining(['postgres', 'schedule', 'temporal', 'worker']));
  });

  it('depends only on services that exist, and waits for health where a healthcheck exists', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependsOn(s))) {
        expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          expect(service(dependency).healthcheck?.test, `${dependency} needs a healthcheck for ${name} to wait on`).toBeTruthy();
        }
      }
    }
    expect(dependsOn(service('worker'))).toMatchObject({ postgres: 'service_healthy', temporal: 'service_healthy' });
    expect(dependsOn(service('schedule'))).toMatchObject({ temporal: 'service_healthy' });
  });

  it('health-checks PostgreSQL with pg_isready over TCP and Temporal with its own CLI', () => {
    expect(commandLine(service('postgres').healthcheck?.test)).toMatch(/pg_isready\b.*-h 127\.0\.0\.1/);
    const temporal = service('temporal');
    const probe = commandLine(temporal.healthcheck?.test);
    expect(probe).toMatch(/temporal operator cluster health --address (127\.0\.0\.1|localhost):(\d+)/);
    expect(probe.match(/:(\d+)\s*$/)?.[1]).toBe(String(temporalPorts().frontend));
  });

  it('points TEMPORAL_ADDRESS at the temporal service frontend port', () => {
    const { frontend } = temporalPorts();
    for (const name of ['worker', 'schedule']) {
      const address = environment(service(name)).TEMPORAL_ADDRESS;
      expect(address, `${name}: TEMPORAL_ADDRESS`).toMatch(/^[a-z0-9_-]+:\d+$/);
      const [host, port] = address!.split(':');
      expect(compose.services, `${name}: TEMPORAL_ADDRESS names a service`).toHaveProperty(host!);
      expect(host).toBe('temporal');
      expect(Number(port)).toBe(frontend);
    }
  });

  it('runs the dev server with a persistent database and publishes its frontend and Web UI', () => {
    const temporal = service('temporal');
    const args = commandArgs(temporal);
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(flag(args, '--ip')).toBe('0.0.0.0');
    const dbFile = flag(args, '--db-filename');
    expect(dbFile, 'without --db-filename the dev server forgets schedules on restart').toBeDefined();
    const dataMount = mounts(temporal).find((m) => dbFile!.startsWith(`${m.target}/`));
    expect(dataMount, `a volume holding ${dbFile}`).toBeDefined();
    expect(compose.volumes).toHaveProperty(dataMount!.source!);

    const { frontend, ui } = temporalPorts();
    const published = (temporal.ports ?? []).map(containerPort);
    expect(published).toContain(frontend);
    expect(published).toContain(ui);
  });

  it("registers the backups' search attributes as the dev server starts, as the code defines them", () => {
    const args = commandArgs(service('temporal'));
    const registered = args.flatMap((arg, i) => (args[i - 1] === '--search-attribute' ? ['--search-attribute', arg] : []));
    expect(registered).toEqual(devServerSearchAttributeArgs());
  });

  it('builds DATABASE_URL for the postgres service from the same .env values, password kept out of it', () => {
    const postgres = environment(service('postgres'));
    const worker = environment(service('worker'));
    const url = new URL(interpolate(worker.DATABASE_URL!, envExample));
    expect(url.protocol).toBe('postgresql:');
    expect(compose.services).toHaveProperty(url.hostname);
    expect(url.hostname).toBe('postgres');
    expect(url.port || '5432').toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(interpolate(postgres.POSTGRES_USER!, envExample));
    expect(decodeURIComponent(url.pathname.slice(1))).toBe(interpolate(postgres.POSTGRES_DB!, envExample));
    expect(url.password).toBe('');
    // pg_dump gets the password through PGPASSWORD, from the same variable the server is given.
    expect(variablesIn(worker.PGPASSWORD!)).toEqual(['POSTGRES_PASSWORD']);
    expect(variablesIn(postgres.POSTGRES_PASSWORD!)).toEqual(['POSTGRES_PASSWORD']);
  });

  it('sets only environment variables the project (or the postgres image) reads', () => {
    for (const name of ['worker', 'schedule']) {
      for (const variable of Object.keys(environment(service(name)))) {
        const readBySource = new RegExp(`(?:env\\.|['"\`])${variable}\\b`).test(sourceText);
        const readByEnvconfig = variable.startsWith('TEMPORAL_') && envconfigText.includes(`'${variable}'`);
        expect(readBySource || readByEnvconfig, `${name}: nothing reads ${variable}`).toBe(true);
      }
    }
    for (const variable of Object.keys(environment(service('postgres')))) {
      expect(POSTGRES_IMAGE_VARIABLES.has(variable), `postgres: ${variable}`).toBe(true);
    }
  });

  it('keeps backups on a named volume mounted where BACKUP_DIR points', () => {
    const worker = service('worker');
    const backupDir = environment(worker).BACKUP_DIR;
    expect(backupDir).toMatch(/^\/[^$]+$/);
    const mount = mounts(worker).find((m) => m.target === backupDir);
    expect(mount, `a volume mounted at ${backupDir}`).toBeDefined();
    expect(mount!.type).toBe('volume');
    expect(compose.volumes, 'declared at top level').toHaveProperty(mount!.source!);
  });

  it('runs the worker and the one-shot schedule from npm scripts that exist', () => {
    const cmd = dockerfile.match(/^CMD\s+(\[.*\])\s*$/m);
    expect(cmd, 'Dockerfile CMD in exec form').not.toBeNull();
    // One of the worker scripts, as `npm run …` or as its own command line (with node_modules/.bin on PATH).
    const workerCommand = (JSON.parse(cmd![1]!) as string[]).join(' ');
    const scripts = ['worker', 'worker:compiled'];
    expect([...scripts.map((s) => `npm run ${s}`), ...scripts.map((s) => packageJson.scripts[s])]).toContain(workerCommand);
    expect(packageJson.scripts.worker).toMatch(/src\/worker\.ts$/);
    if (!workerCommand.startsWith('npm run')) expect(dockerfile).toMatch(/^ENV PATH=\/app\/node_modules\/\.bin:\$PATH$/m);
    // The compiled worker is built in the image, from the sources copied into it.
    if (workerCommand.includes('lib/worker.js') || workerCommand.endsWith('worker:compiled')) {
      expect(packageJson.scripts['worker:compiled']).toMatch(/^node (--[a-z-]+=\S+ )*lib\/worker\.js$/);
      expect(dockerfile).toMatch(/^FROM \S+ AS build$/m);
      expect(dockerfile).toMatch(/^RUN npm run build$/m);
      expect(dockerfile).toMatch(/^COPY --from=build \/app\/lib \.\/lib$/m);
    }

    const schedule = service('schedule');
    const args = commandArgs(schedule);
    expect(args.slice(0, 2)).toEqual(['npm', 'run']);
    expect(packageJson.scripts).toHaveProperty(args[2]!);
    expect(args[2]).toBe('schedule');
    expect(['no', 'on-failure']).toContain(schedule.restart ?? 'no');
    // Same image as the worker, so it carries the same code.
    expect(schedule.image).toBe(service('worker').image);
  });

  it('interpolates only variables that .env.example defines, and .env.example defines nothing unused', () => {
    const used = new Set(variablesIn(composeText));
    for (const variable of used) {
      expect(envExample, `.env.example lacks ${variable}`).toHaveProperty(variable);
    }
    for (const variable of Object.keys(envExample)) {
      expect(used.has(variable), `.env.example sets ${variable}, which docker-compose.yml never uses`).toBe(true);
    }
    // Required variables (${VAR:?...}) get a placeholder, so a copied .env starts the stack.
    for (const [, variable] of composeText.replaceAll('$$', '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)) {
      expect(envExample[variable!], `.env.example placeholder for required ${variable}`).toBeTruthy();
    }
    // No secret is written into the compose file itself.
    expect(composeText).not.toMatch(/^\s*[A-Z_]*(PASSWORD|WEBHOOK_URL):[ \t]*(?!\$\{)\S/m);
  });
});

describe('Dockerfile', () => {
  it('installs a pg_dump whose major version is at least the postgres service image', () => {
    const serverMajor = Number(service('postgres').image!.match(/^postgres:(\d+)/)?.[1]);
    expect(serverMajor, 'postgres image pinned to a major version').toBeGreaterThan(0);

    const pgMajor = Number(dockerfile.match(/^ARG PG_MAJOR=(\d+)\s*$/m)?.[1]);
    expect(dockerfile).toMatch(/apt-get install[^\n]*"?postgresql-client-\$\{PG_MAJOR\}"?/);
    expect(dockerfile).toMatch(/apt\.postgresql\.org\/pub\/repos\/apt \$\{VERSION_CODENAME\}-pgdg main/);
    expect(pgMajor).toBeGreaterThanOrEqual(serverMajor);
    // The worker is pointed at exactly that client.
    expect(dockerfile).toMatch(/BACKUP_PG_DUMP=\/usr\/lib\/postgresql\/\$\{PG_MAJOR\}\/bin\/pg_dump/);
  });

  it('runs Node 20+ as a non-root user that alone owns the backup directory', () => {
    const base = dockerfile.match(/^ARG NODE_IMAGE=node:(\d+)/m) ?? dockerfile.match(/^FROM node:(\d+)/m);
    expect(Number(base?.[1])).toBeGreaterThanOrEqual(20);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);

    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    const user = users.at(-1);
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);

    const backupDir = environment(service('worker')).BACKUP_DIR!;
    const install = dockerfile.match(new RegExp(`install -d -o (\\S+) -g \\S+ -m (0?700) ${backupDir}\\s*$`, 'm'));
    expect(install, `${backupDir} created owned by ${user}, mode 0700`).not.toBeNull();
    expect(install![1]).toBe(user);
  });

  it('keeps secrets and host artefacts out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', '.git']) expect(ignored).toContain(entry);
  });
});

// ---- helpers ---------------------------------------------------------------------------------

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

function parseDotEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim();
  }
  return vars;
}

/** Names of the `${VAR...}` references in a compose value (`$$` is a literal dollar). */
function variablesIn(text: string): string[] {
  return [...new Set([...text.replaceAll('$$', '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))];
}

/** Compose interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (_all, name: string, colon: string, op: string, arg: string) => {
    const value = vars[name];
    const missing = value === undefined || (colon === ':' && value === '');
    if (!missing) return value!;
    if (op === '-') return arg;
    if (op === '?') throw new Error(`${name}: ${arg}`);
    return '';
  });
}

function environment(s: Service): Record<string, string | undefined> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, undefined])));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]));
}

function dependsOn(s: Service): Record<string, string> {
  const deps = s.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition ?? 'service_started']));
}

function commandArgs(s: Service): string[] {
  if (Array.isArray(s.command)) return s.command.map(String);
  return (s.command ?? '').split(/\s+/).filter(Boolean);
}

function commandLine(test: string[] | string | undefined): string {
  if (!test) return '';
  if (typeof test === 'string') return test;
  // ["CMD", arg...] or ["CMD-SHELL", "command line"]
  return test.slice(1).join(' ');
}

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i]!.includes('=') ? args[i]!.slice(name.length + 1) : args[i + 1];
}

/** The dev server's frontend and UI ports as its command line sets them (defaults 7233 and frontend+1000). */
function temporalPorts(): { frontend: number; ui: number } {
  const args = commandArgs(service('temporal'));
  const frontend = Number(flag(args, '--port') ?? flag(args, '-p') ?? 7233);
  const ui = Number(flag(args, '--ui-port') ?? frontend + 1000);
  return { frontend, ui };
}

function containerPort(p: string | { target: number }): number {
  if (typeof p !== 'string') return Number(p.target);
  // [host_ip:]host_port:container_port[/proto], or container_port alone
  return Number(p.split('/')[0]!.split(':').at(-1));
}

function mounts(s: Service): Array<{ type: string; source?: string; target: string }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { type: v.type ?? 'volume', source: v.source, target: v.target };
    const [source, target] = v.split(':');
    const isPath = source!.startsWith('.') || source!.startsWith('/') || source!.startsWith('~');
    return { type: isPath ? 'bind' : 'volume', source, target: target ?? source! };
  });
}
