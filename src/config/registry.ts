import { COMPRESSIONS } from '../common/backup-suffix';
import { labelProblem } from '../common/label';
import { ConfigError } from './config-error';
import {
  boolean,
  choice,
  decimal,
  duration,
  external,
  filePath,
  integer,
  list,
  text,
  timeOfDay,
  timeZone,
  type CommandName,
  type OptionDef,
} from './option-types';

/**
 * Every setting of pg-backup-workflow, defined once: its type, default, allowed values, the
 * commands that read it, whether it is secret, and one line of documentation. The readers
 * (`option`, `optionsMatching`), `--help` of each command and the README's option reference
 * (`npm run docs`) all come from this table; no other module reads `process.env` for a setting.
 */

const WORKER: CommandName[] = ['worker', 'start', 'dev'];
const TEMPORAL_CLIENTS: CommandName[] = ['worker', 'start', 'dev', 'backup', 'schedule', 'freshness', 'list', 'watchdog'];
const LIBPQ: CommandName[] = ['worker', 'start', 'dev', 'restore'];
/** `prune` runs no libpq program, but names files after the database, which PGDATABASE and PGUSER may give. */
const NAMES_THE_DATABASE: CommandName[] = [...LIBPQ, 'prune'];

const SCHEDULE_ID = /^[A-Za-z0-9._-]{1,200}$/;
const TASK_QUEUE = /^[^\s]{1,200}$/;

/** PostgreSQL accepts 64 kB to 2 TB - 1 kB; a worker refuses anything else at start rather than fail every verification. */
function maintenanceWorkMem(value: string, name: string): void {
  const [, amount, unit] = /^(\d+)(kB|MB|GB)$/.exec(value)!;
  const kb = Number(amount) * { kB: 1, MB: 1024, GB: 1024 * 1024 }[unit as 'kB' | 'MB' | 'GB'];
  if (kb < 1024 || kb > 2_147_483_647) throw new ConfigError(name, `expected from 1MB to 2047GB, got ${JSON.stringify(value)}`);
}

/** The bench's shapes and methods (src/bench/shapes.ts and report.ts name the same; a unit test keeps them in step). */
export const BENCH_SHAPES = ['pgbench', 'text', 'bytea'] as const;
export const BENCH_METHOD_NAMES = ['workflow', 'verified', 'restore', 'pigz', 'gzip', 'zstd-workflow', 'zstd', 'stream'] as const;

function oneOf(values: readonly string[], what: string) {
  return (value: string, name: string): string => {
    if (!values.includes(value)) throw new ConfigError(name, `unknown ${what} ${JSON.stringify(value)}: expected ${values.join(', ')}`);
    return value;
  };
}

function label(value: string, name: string): string {
  const problem = labelProblem(value);
  if (problem) throw new ConfigError(name, problem);
  return value;
}

export const OPTIONS = {
  // ── Database ─────────────────────────────────────────────────────────────────────────────
  DATABASE_URL: text({
    section: 'Database',
    commands: [...WORKER, 'prune'],
    requiredBy: ['worker', 'prune'],
    defaultText: '— (`npm start` and `dev` make a demo one)',
    secure: true,
    doc: "The database to back up, `postgresql://user[:password]@host[:port]/dbname[?params]`, libpq's URI syntax (host lists and `?host=/socket/dir` work). The password may instead come from `PGPASSWORD` or a passfile; it is split out of the URI and never reaches a command line.",
  }),
  'DATABASE_URL_<LABEL>': text({
    section: 'Database',
    commands: [...WORKER, 'prune'],
    secure: true,
    doc: 'The database for one environment label, e.g. `DATABASE_URL_DEVELOPMENT` for `"development"` (label upper-cased, `-` as `_`). Falls back to `DATABASE_URL`.',
  }),
  BACKUP_PG_DUMP: text({
    section: 'Database',
    commands: LIBPQ,
    default: 'pg_dump',
    doc: "The `pg_dump` to run (its major version must be at least the server's). `psql` and `pg_dumpall` are taken from the same directory (else from `PATH`). A worker refuses to start when `pg_dump` or `psql` is missing or not executable.",
  }),
  PGPASSWORD: external({
    section: 'Database',
    by: 'libpq',
    commands: LIBPQ,
    secure: true,
    doc: "libpq's password for any target whose URI has none (libpq prefers it to a passfile).",
  }),
  PGDATABASE: external({
    section: 'Database',
    by: 'libpq',
    commands: NAMES_THE_DATABASE,
    doc: 'Read by libpq as usual; with `PGUSER`, it also names the backup file when the URI has no database.',
  }),
  PGUSER: external({ section: 'Database', by: 'libpq', commands: NAMES_THE_DATABASE, doc: 'Read by libpq as usual, for whatever the URI leaves out.' }),
  PGAPPNAME: external({
    section: 'Database',
    by: 'libpq',
    commands: LIBPQ,
    defaultText: 'pg-backup-workflow',
    doc: "`application_name` of the project's connections, to spot them in `pg_stat_activity`.",
  }),
  'PG*': external({
    section: 'Database',
    by: 'libpq',
    commands: LIBPQ,
    doc: 'Every other libpq variable (`PGPASSFILE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSERVICEFILE`, `PGCONNECT_TIMEOUT`, …) is passed to `pg_dump`/`psql` unchanged.',
  }),

  // ── Backups ──────────────────────────────────────────────────────────────────────────────
  BACKUP_DIR: filePath({
    section: 'Backups',
    commands: [...WORKER, 'list', 'restore', 'prune'],
    default: '/tmp',
    doc: 'Where backups are written. Created with mode 0700 if missing.',
  }),
  BACKUP_TIMEZONE: timeZone({
    section: 'Backups',
    commands: [...WORKER, 'schedule', 'freshness', 'watchdog'],
    default: 'UTC',
    doc: "IANA zone of the file name's timestamp, of the schedule's time of day and of times in messages.",
  }),
  BACKUP_ENVIRONMENT: text({
    section: 'Backups',
    commands: ['start', 'dev', 'backup', 'schedule', 'freshness', 'list', 'restore', 'prune'],
    default: 'production',
    check: label,
    doc: 'The label `npm start`, `backup`, `restore latest` and the schedule work on when none is given.',
  }),
  BACKUP_ENVIRONMENTS: list({
    section: 'Backups',
    commands: ['dev', 'schedule', 'freshness', 'list', 'restore', 'prune'],
    itemName: 'label',
    item: label,
    doc: 'Comma-separated labels: one schedule per label, id `<BACKUP_SCHEDULE_ID>-<label>` (takes precedence over `BACKUP_ENVIRONMENT`); also the labels the freshness check watches.',
  }),
  BACKUP_COMPRESSION: choice({
    section: 'Backups',
    commands: WORKER,
    values: COMPRESSIONS,
    default: 'gzip',
    doc: "`gzip` writes `….sql.gz` (one standard gzip member, on every core), as the old job did; `zstd` writes `….sql.zst` (standard zstd frames, multi-threaded, by Debian's `zstd` program reading the dump itself; it must be installed): at its default level faster than the gzip workflow and 5–9% smaller (see Performance). Listing, verification, restore, encryption (`….sql.zst.age`), copies and retention handle both.",
  }),
  BACKUP_GZIP_LEVEL: integer({
    section: 'Backups',
    commands: [...WORKER, 'bench'],
    default: 6,
    min: 1,
    max: 9,
    doc: 'gzip level (with `BACKUP_COMPRESSION=gzip`).',
  }),
  BACKUP_ZSTD_LEVEL: integer({
    section: 'Backups',
    commands: WORKER,
    default: 3,
    min: 1,
    max: 19,
    doc: "zstd level (with `BACKUP_COMPRESSION=zstd`); 3 is zstd's own default. Each step up costs noticeably more CPU for a few percent less output.",
  }),
  BACKUP_HOST_CONCURRENCY: integer({
    section: 'Backups',
    commands: WORKER,
    default: 4,
    min: 1,
    max: 100,
    doc: 'File steps (dump, compress, verify, …) one worker runs at once; runs beyond that wait for a free slot. A run holds three while it dumps (compress runs beside dump, verify beside compress); at `2`, verify runs after compress; at `1`, each step after the other.',
  }),
  BACKUP_FREE_SPACE_FACTOR: decimal({
    section: 'Backups',
    commands: WORKER,
    default: 1,
    min: 0,
    max: 100,
    zeroMeans: 'off',
    doc: 'Before dumping, free space in `BACKUP_DIR` must be at least this × `pg_database_size()`; `0` turns the check off.',
  }),
  UV_THREADPOOL_SIZE: external({
    section: 'Backups',
    by: 'node',
    commands: [...WORKER, 'bench'],
    defaultText: "4 (libuv's)",
    doc: 'Threads that compress in parallel; set to cores + 2 on machines with more than 4 cores.',
  }),

  // ── Retries and timeouts ─────────────────────────────────────────────────────────────────
  BACKUP_MAX_ATTEMPTS: integer({
    section: 'Retries and timeouts',
    commands: WORKER,
    default: 3,
    min: 1,
    max: 100,
    doc: 'Attempts per step (retry policy `maximumAttempts`).',
  }),
  BACKUP_RETRY_INTERVAL: duration({
    section: 'Retries and timeouts',
    commands: WORKER,
    default: '5m',
    doc: 'Time between attempts (`initialInterval` = `maximumInterval`, coefficient 1). `npm run dev` uses `10s`.',
  }),
  BACKUP_ACTIVITY_TIMEOUT: duration({
    section: 'Retries and timeouts',
    commands: WORKER,
    default: '10m',
    doc: 'Start-to-close timeout of every step. `compress` runs beside `dump`, so it must cover the slower of the two plus a few seconds: size it for your largest database.',
  }),
  BACKUP_HEARTBEAT_TIMEOUT: duration({
    section: 'Retries and timeouts',
    commands: WORKER,
    default: '30s',
    doc: 'A step that stops heartbeating for this long is considered dead (its worker crashed). Capped at the activity timeout.',
  }),

  // ── Verification ─────────────────────────────────────────────────────────────────────────
  BACKUP_VERIFY: boolean({
    section: 'Verification',
    commands: WORKER,
    default: true,
    doc: "Load each backup into a scratch database as the verifying role (ownership and privileges left out, so any role with `CREATEDB` can) and compare every table's rows and the large objects with the source's, taken in the dump's snapshot. `false` leaves the step out.",
  }),
  BACKUP_VERIFY_DATABASE_URL: text({
    section: 'Verification',
    commands: WORKER,
    defaultText: "the source's server",
    secure: true,
    doc: "Where to create the scratch database (any database on that server; the role needs `CREATEDB`, and may create the dump's untrusted extensions unless they are installed in `template1`). Its password is treated like `DATABASE_URL`'s.",
  }),

  BACKUP_VERIFY_MAINTENANCE_WORK_MEM: text({
    section: 'Verification',
    commands: [...WORKER, 'bench'],
    default: '256MB',
    pattern: /^\d{1,10}(kB|MB|GB)$/,
    expected: 'a size like 64MB or 1GB (kB, MB or GB)',
    check: maintenanceWorkMem,
    doc: "`maintenance_work_mem` of the scratch restore's session, for its index builds (PostgreSQL's default is 64MB; 512MB made the restore 21% faster on a 1 GB dump). It is the most one restore's index build takes on the verification server, once at a time: keep it well under that server's free memory, since that may be the production server.",
  }),

  // ── Retention ────────────────────────────────────────────────────────────────────────────
  BACKUP_KEEP_LAST: integer({
    section: 'Retention',
    commands: [...WORKER, 'prune'],
    default: 7,
    min: 0,
    max: 100_000,
    unit: 'backups to keep',
    doc: 'Backups of each database and label kept by `prune`; `0` turns pruning off.',
  }),
  BACKUP_KEEP_DAILY: integer({
    section: 'Retention',
    commands: [...WORKER, 'prune'],
    default: 0,
    min: 0,
    max: 100_000,
    unit: 'backups to keep',
    doc: 'Also keep the newest backup of each of this many most recent days.',
  }),
  BACKUP_KEEP_WEEKLY: integer({
    section: 'Retention',
    commands: [...WORKER, 'prune'],
    default: 0,
    min: 0,
    max: 100_000,
    unit: 'backups to keep',
    doc: '… of each of this many most recent ISO weeks.',
  }),
  BACKUP_KEEP_MONTHLY: integer({
    section: 'Retention',
    commands: [...WORKER, 'prune'],
    default: 0,
    min: 0,
    max: 100_000,
    unit: 'backups to keep',
    doc: '… of each of this many most recent months.',
  }),

  // ── Encryption ───────────────────────────────────────────────────────────────────────────
  BACKUP_AGE_RECIPIENTS: text({
    section: 'Encryption',
    commands: WORKER,
    defaultText: '— (encryption off)',
    doc: 'age public keys (`age1…`, as printed by `age-keygen -y`), comma or white-space separated. When set, each verified backup becomes `….sql.gz.age` and the plaintext is removed. A private key here is refused without being echoed.',
  }),
  BACKUP_AGE_RECIPIENTS_FILE: filePath({
    section: 'Encryption',
    commands: WORKER,
    doc: 'A file of age public keys, one per line, `#` comments allowed (like `age -R`); combined with `BACKUP_AGE_RECIPIENTS`.',
  }),
  BACKUP_AGE_IDENTITY_FILE: filePath({
    section: 'Encryption',
    commands: ['restore'],
    doc: '`restore` only: the age identity (private key) file that decrypts `.age` backups; `--identity FILE` overrides it. Keep it off the backup host.',
  }),

  // ── Off-host copies ──────────────────────────────────────────────────────────────────────
  BACKUP_COPY_DIR: filePath({
    section: 'Off-host copies',
    commands: WORKER,
    defaultText: '— (off)',
    doc: 'A second directory for a copy of each verified backup and its `.sha256` (e.g. a mounted NAS). Only its last component is created (0700), so an unmounted share fails (retryably) instead of filling the local disk. Must differ from `BACKUP_DIR`.',
  }),
  BACKUP_S3_BUCKET: text({
    section: 'Off-host copies',
    commands: WORKER,
    defaultText: '— (off)',
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    expected: 'a bucket name (3-63 characters a-z 0-9 . -, no s3:// and no path; put folders in BACKUP_S3_PREFIX)',
    doc: 'Bucket for copies in S3 or an S3-compatible store; setting it turns S3 copies on.',
  }),
  BACKUP_S3_PREFIX: text({
    section: 'Off-host copies',
    commands: WORKER,
    default: '',
    pattern: /^(?!\/)\S{0,512}$/,
    expected: 'a key prefix like backups/prod/ (no leading /, no white space)',
    doc: 'Prepended to the file name to make the object key (`backups/prod/` gives `backups/prod/<file>`).',
  }),
  BACKUP_S3_ENDPOINT: text({
    section: 'Off-host copies',
    commands: WORKER,
    defaultText: '— (AWS)',
    quiet: true,
    pattern: /^https?:\/\/[^\s/@]+(?:\/\S*)?$/i,
    expected: 'an http(s) URL like https://s3.example.com or http://127.0.0.1:9000, without credentials',
    doc: 'Endpoint URL of a non-AWS service, e.g. `http://minio.internal:9000`. No credentials in the URL.',
  }),
  BACKUP_S3_REGION: text({
    section: 'Off-host copies',
    commands: WORKER,
    default: 'us-east-1',
    pattern: /^[A-Za-z0-9-]{1,64}$/,
    expected: 'a region name like us-east-1 or eu-central-1',
    doc: 'Region of the bucket (signing region for S3-compatible services).',
  }),
  BACKUP_S3_FORCE_PATH_STYLE: boolean({
    section: 'Off-host copies',
    commands: WORKER,
    default: false,
    doc: '`true` for path-style URLs, which MinIO-like services usually need.',
  }),
  BACKUP_S3_STORAGE_CLASS: text({
    section: 'Off-host copies',
    commands: WORKER,
    defaultText: '— (bucket default)',
    pattern: /^[A-Z][A-Z0-9_]{1,63}$/,
    expected: 'a storage class like STANDARD_IA, GLACIER_IR or DEEP_ARCHIVE',
    doc: 'Storage class of the objects, e.g. `STANDARD_IA`.',
  }),
  AWS_SECRET_ACCESS_KEY: external({
    section: 'Off-host copies',
    by: 'aws-sdk',
    commands: WORKER,
    secure: true,
    doc: 'With `AWS_ACCESS_KEY_ID`: S3 credentials, read by the AWS SDK. Never logged; redacted from errors.',
  }),
  AWS_SESSION_TOKEN: external({
    section: 'Off-host copies',
    by: 'aws-sdk',
    commands: WORKER,
    secure: true,
    doc: 'Temporary credentials, read by the AWS SDK.',
  }),
  'AWS_*': external({
    section: 'Off-host copies',
    by: 'aws-sdk',
    commands: WORKER,
    doc: "`AWS_ACCESS_KEY_ID`, `AWS_PROFILE` and the rest of the AWS SDK's standard credential chain (shared files and profiles, web identity, container and instance roles).",
  }),

  // ── Notifications ────────────────────────────────────────────────────────────────────────
  SLACK_WEBHOOK_URL: text({
    section: 'Notifications',
    commands: [...WORKER, 'watchdog'],
    secure: true,
    pattern: /^https?:\/\/\S+$/i,
    expected: 'an http(s) URL (the incoming-webhook URL Slack gave you)',
    doc: 'Slack incoming-webhook URL; unset means notifications are skipped. Treated as a secret.',
  }),

  // ── Observability ────────────────────────────────────────────────────────────────────────
  BACKUP_METRICS_ADDRESS: text({
    section: 'Observability',
    commands: ['worker', 'dev'],
    defaultText: '— (off)',
    pattern: /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
    expected: 'host:port to listen on, like 0.0.0.0:9464 or 127.0.0.1:9464',
    check: (value, name) => {
      const port = Number(value.slice(value.lastIndexOf(':') + 1));
      if (!(port >= 1 && port <= 65535)) throw new ConfigError(name, `expected a port from 1 to 65535, got ${JSON.stringify(value)}`);
    },
    doc: "Serve Prometheus metrics at `http://<address>/metrics`: the Temporal SDK's own (`temporal_*`) and the backups' (`pgbackup_*`, see Metrics). Unauthenticated: bind to an address only your Prometheus reaches.",
  }),
  BACKUP_PROGRESS_INTERVAL: duration({
    section: 'Observability',
    commands: WORKER,
    default: '30s',
    min: { ms: 1_000, why: '1s' },
    doc: "A running step tells its workflow how far it is (percent and time left, the run's current details in the Web UI) at most this often, on 5% steps, and at least every 5 minutes. Each report adds a few events to the run's history.",
  }),

  // ── Temporal ─────────────────────────────────────────────────────────────────────────────
  TEMPORAL_ADDRESS: external({
    section: 'Temporal',
    by: 'temporal',
    commands: TEMPORAL_CLIENTS,
    defaultText: '`localhost:7233` (`npm start`/`dev`: an embedded dev server)',
    doc: 'Temporal frontend.',
  }),
  TEMPORAL_NAMESPACE: external({ section: 'Temporal', by: 'temporal', commands: TEMPORAL_CLIENTS, defaultText: 'default', doc: 'Temporal namespace.' }),
  TEMPORAL_API_KEY: external({ section: 'Temporal', by: 'temporal', commands: TEMPORAL_CLIENTS, secure: true, doc: 'API key (Temporal Cloud).' }),
  'TEMPORAL_*': external({
    section: 'Temporal',
    by: 'temporal',
    commands: TEMPORAL_CLIENTS,
    doc: "`TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_TLS_DISABLE_HOST_VERIFICATION`, `TEMPORAL_PROFILE`, `TEMPORAL_CONFIG_FILE`, `TEMPORAL_GRPC_META_*`: named and read exactly as Temporal's own CLI does (`@temporalio/envconfig`).",
  }),
  BACKUP_TASK_QUEUE: text({
    section: 'Temporal',
    commands: [...WORKER, 'backup', 'schedule', 'freshness', 'watchdog'],
    default: 'backups',
    pattern: TASK_QUEUE,
    expected: 'a task queue name without white space',
    doc: 'The shared task queue of the backup workers.',
  }),

  // ── Schedules ────────────────────────────────────────────────────────────────────────────
  BACKUP_SCHEDULE_ID: text({
    section: 'Schedules',
    commands: ['dev', 'schedule'],
    default: 'daily-database-backup',
    pattern: SCHEDULE_ID,
    expected: 'an id of 1 to 200 characters from A-Z a-z 0-9 . _ -',
    doc: 'Schedule id (with `BACKUP_ENVIRONMENTS`: `<id>-<label>`).',
  }),
  BACKUP_SCHEDULE_TIME: timeOfDay({
    section: 'Schedules',
    commands: ['dev', 'schedule'],
    default: '03:00',
    doc: 'Time of day of the daily run, `HH:MM` 24-hour, in `BACKUP_TIMEZONE`.',
  }),
  BACKUP_CATCHUP_WINDOW: duration({
    section: 'Schedules',
    commands: ['dev', 'schedule'],
    default: '1h',
    // Temporal silently raises shorter windows to this, so they are refused instead.
    min: { ms: 10_000, why: "10s (Temporal's minimum)" },
    doc: 'After a Temporal outage, a missed run still starts if at most this late (minimum `10s`).',
  }),

  // ── Freshness alarm ──────────────────────────────────────────────────────────────────────
  BACKUP_MAX_AGE: duration({
    section: 'Freshness alarm',
    commands: ['dev', 'schedule', 'freshness'],
    default: '26h',
    doc: "The freshness check alerts when a label's last *successful* backup is older than this.",
  }),
  BACKUP_FRESHNESS_INTERVAL: duration({
    section: 'Freshness alarm',
    commands: ['dev', 'schedule', 'freshness'],
    default: '1h',
    doc: 'How often the freshness check runs.',
  }),
  BACKUP_FRESHNESS_SCHEDULE_ID: text({
    section: 'Freshness alarm',
    commands: ['dev', 'schedule', 'freshness'],
    default: 'backup-freshness-check',
    pattern: SCHEDULE_ID,
    expected: 'an id of 1 to 200 characters from A-Z a-z 0-9 . _ -',
    doc: 'Id of the freshness Schedule.',
  }),
  BACKUP_WATCHDOG_TASK_QUEUE: text({
    section: 'Freshness alarm',
    commands: [...WORKER, 'schedule', 'freshness', 'watchdog'],
    requiredBy: ['watchdog'],
    defaultText: '`BACKUP_TASK_QUEUE`',
    pattern: TASK_QUEUE,
    expected: 'a task queue name without white space',
    doc: "Task queue of the freshness check. The default is served by every backup worker's shared Worker; a queue of its own is what `watchdog` needs (set it where `schedule apply` runs too).",
  }),
  BACKUP_WATCHDOG: boolean({
    section: 'Freshness alarm',
    commands: WORKER,
    default: true,
    doc: '`false`: a worker does not serve a separate `BACKUP_WATCHDOG_TASK_QUEUE` (leave it to `watchdog`). No effect on the default queue.',
  }),

  // ── Development and benchmark ────────────────────────────────────────────────────────────
  TEMPORAL_CLI_PATH: filePath({
    section: 'Development',
    commands: ['start', 'dev', 'bench'],
    defaultText: '`.tools/bin/temporal`, else `temporal` on `PATH`',
    doc: 'The `temporal` binary for embedded dev servers; one that is missing or not executable is refused (no fall-back to another).',
  }),
  TEMPORAL_UI_URL: text({
    section: 'Development',
    commands: ['dev'],
    pattern: /^https?:\/\/\S+$/i,
    expected: 'an http(s) URL',
    doc: '`dev` only, with your own `TEMPORAL_ADDRESS`: the Web UI base URL to print links into.',
  }),
  PG_BINDIR: filePath({
    section: 'Development',
    commands: ['start', 'dev', 'bench'],
    defaultText: 'newest `/usr/lib/postgresql/*/bin`',
    doc: 'Server binaries for the throwaway cluster; a directory without an executable `initdb` is refused before anything starts.',
  }),
  BENCH_SHAPE: list({
    section: 'Development',
    commands: ['bench'],
    defaultText: '`pgbench,text,bytea`',
    itemName: 'shape',
    item: oneOf(BENCH_SHAPES, 'shape'),
    doc: '`bench --shape`: the data shapes to back up, each in its own database: `pgbench` (pgbench tables only), `text` (plus many short rows of words, e-mails, tags and JSON), `bytea` (plus rows of random and structured binary).',
  }),
  BENCH_SIZE: decimal({
    section: 'Development',
    commands: ['bench'],
    default: 0.1,
    min: 0.001,
    max: 100,
    doc: "`bench --size`: each shape's database as a fraction of a ~1 GB plain dump (`1`: pgbench scale 100; text: scale 30 + 1.5 M rows; bytea: scale 10 + 150 k rows).",
  }),
  BENCH_METHODS: list({
    section: 'Development',
    commands: ['bench'],
    defaultText: 'all but `stream`',
    itemName: 'method',
    item: oneOf(BENCH_METHOD_NAMES, 'method'),
    doc: "`bench --methods`: what to run in each round, in this order (reversed every other round): `workflow` (unverified, gzip), `verified` (the default configuration), `restore` (the same file alone into a scratch database), `pigz`, `gzip`, `zstd-workflow`, `zstd` (`pg_dump \\| zstd -3 -T0`), `stream` (this project's gzip fed straight from pg_dump).",
  }),
  BENCH_ROUNDS: integer({
    section: 'Development',
    commands: ['bench'],
    default: 2,
    min: 1,
    max: 1000,
    doc: '`bench --rounds`: rounds of each method, per shape.',
  }),
  BENCH_TINY_RUNS: integer({
    section: 'Development',
    commands: ['bench'],
    default: 5,
    min: 1,
    max: 1000,
    doc: '`bench --tiny-runs`: runs on a tiny database (Temporal overhead).',
  }),
  BENCH_WORKER: choice({
    section: 'Development',
    commands: ['bench'],
    values: ['compiled', 'tsx'],
    default: 'compiled',
    doc: '`bench --worker`: the compiled worker as production runs it, or the TypeScript sources through tsx.',
  }),
  BENCH_JSON: filePath({ section: 'Development', commands: ['bench'], doc: '`bench --json FILE`: also write the figures as JSON.' }),
  BENCH_WORKER_LOG: filePath({ section: 'Development', commands: ['bench'], doc: "Keep the benchmark worker's log in this file." }),
  INIT_CWD: external({
    section: 'Development',
    by: 'system',
    commands: ['restore'],
    doc: "Set by npm to the directory `npm run` was called from: `npm run restore -- <file>` resolves a relative file or `--dir` there, not in the project's directory.",
  }),
} satisfies Record<string, OptionDef<unknown>>;

export type OptionName = keyof typeof OPTIONS;
export type OptionValue<N extends OptionName> = ReturnType<(typeof OPTIONS)[N]['read']>;

/** Names that stand for a family of variables, and the variables they match. */
const FAMILIES: Partial<Record<OptionName, RegExp>> = {
  'DATABASE_URL_<LABEL>': /^DATABASE_URL_[A-Z0-9_]+$/,
  'PG*': /^PG[A-Z_]+$/,
  'AWS_*': /^AWS_[A-Z0-9_]+$/,
  'TEMPORAL_*': /^TEMPORAL_[A-Z0-9_]+$/,
};

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's text, trimmed; undefined when unset or blank. */
function rawValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** One option's value: parsed, validated, defaulted. Errors name the variable and never echo a secret. */
export function option<N extends OptionName>(env: Env, name: N): OptionValue<N> {
  return OPTIONS[name].read(rawValue(env, name), name) as OptionValue<N>;
}

/** The option as the operator wrote it (validated, trimmed), else its default as documented: for messages that quote it. */
export function optionAsWritten(env: Env, name: OptionName): string | undefined {
  option(env, name);
  return rawValue(env, name) ?? OPTIONS[name].default;
}

/** An option that must be set for this command. */
export function requiredOption<N extends OptionName>(env: Env, name: N, example: string): NonNullable<OptionValue<N>> {
  const value = option(env, name);
  if (value === undefined) throw new ConfigError(name, `is required, e.g. ${example}`);
  return value as NonNullable<OptionValue<N>>;
}

/** Whether the variable is set (non-blank): for options whose absence means "off". */
export function isSet(env: Env, name: OptionName): boolean {
  return rawValue(env, name) !== undefined;
}

/** Each variable of a family (`DATABASE_URL_<LABEL>`) that is set, with its value read by the family's rule. */
export function optionsMatching<N extends keyof typeof FAMILIES & OptionName>(env: Env, family: N): Map<string, NonNullable<OptionValue<N>>> {
  const found = new Map<string, NonNullable<OptionValue<N>>>();
  for (const name of Object.keys(env).sort()) {
    if (!FAMILIES[family]!.test(name)) continue;
    const value = OPTIONS[family].read(rawValue(env, name), name);
    if (value !== undefined) found.set(name, value as NonNullable<OptionValue<N>>);
  }
  return found;
}

/** The registry entry a variable belongs to (its own, or its family's). */
export function definitionOf(variable: string): { name: OptionName; def: OptionDef<unknown> } | undefined {
  if (variable in OPTIONS) return { name: variable as OptionName, def: OPTIONS[variable as OptionName] };
  for (const [name, pattern] of Object.entries(FAMILIES) as Array<[OptionName, RegExp]>) {
    if (pattern.test(variable)) return { name, def: OPTIONS[name] };
  }
  return undefined;
}

/**
 * The values of every secret option that is set (passwords inside URIs are split out by their
 * parser): what error texts, logs and Slack messages are redacted of.
 */
export function secretValues(env: Env): string[] {
  const secrets: string[] = [];
  for (const name of Object.keys(env)) {
    const found = definitionOf(name);
    const value = rawValue(env, name);
    if (found?.def.secure && value) secrets.push(value);
  }
  return secrets;
}

/** Locale and system variables a child process needs to behave as it does in a shell. */
const SYSTEM = /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR)$/;

/**
 * The environment of a pg_dump/psql/pg_dumpall child: PATH, locale, HOME (for ~/.pgpass and
 * ~/.pg_service.conf) and libpq's own variables. Nothing else of the worker's: no AWS keys, no
 * Slack webhook, no other label's DATABASE_URL_*.
 */
export function libpqEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SYSTEM.test(name) || definitionOf(name)?.def.external === 'libpq') out[name] = value;
  }
  // So the project's sessions can be told apart in pg_stat_activity.
  out.PGAPPNAME ??= OPTIONS.PGAPPNAME.default!;
  return out;
}

/** The environment of a helper program that needs no setting and no secret (zstd): PATH, locale, HOME, TZ, TMPDIR. */
export function systemEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && SYSTEM.test(name)) out[name] = value;
  return out;
}

/** The variables `@temporalio/envconfig` reads (TEMPORAL_*), for the Temporal connection. */
export function temporalEnvironment(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && definitionOf(name)?.def.external === 'temporal') out[name] = value;
  }
  return out;
}

/** The whole registry, in order, for the reference documentation and `--help`. */
export function allOptions(): Array<{ name: OptionName; def: OptionDef<unknown> }> {
  return (Object.keys(OPTIONS) as OptionName[]).map((name) => ({ name, def: OPTIONS[name] }));
}
