import { defineSearchAttributeKey, type SearchAttributeType } from '@temporalio/common';
import { labelProblem } from './label';

/**
 * The custom search attributes of backup runs: what people filter on in the Web UI and what
 * the freshness check queries. Prefixed `PgBackup`: a namespace may be shared with other
 * applications, and attribute names are the namespace's, not the workflow type's. Values are
 * stored unencrypted in Temporal's visibility store, so nothing secret may ever go into one
 * (a database name is fine, a URL is not).
 * Pure module: imported by workflow code, the worker, the CLI and tests alike.
 */
export const BACKUP_ENVIRONMENT = defineSearchAttributeKey('PgBackupEnvironment', 'KEYWORD');
export const BACKUP_DATABASE = defineSearchAttributeKey('PgBackupDatabase', 'KEYWORD');
/** Size of the final file (compressed, encrypted when on): upserted when the run succeeds. */
export const BACKUP_SIZE_BYTES = defineSearchAttributeKey('PgBackupSizeBytes', 'INT');
/** True when the restore test passed; absent when verification is off. */
export const BACKUP_VERIFIED = defineSearchAttributeKey('PgBackupVerified', 'BOOL');
/** Who started the run: see BackupTrigger. */
export const BACKUP_TRIGGER = defineSearchAttributeKey('PgBackupTrigger', 'KEYWORD');
/** Set by the server on runs a Schedule started: its id. */
export const TEMPORAL_SCHEDULED_BY_ID = defineSearchAttributeKey('TemporalScheduledById', 'KEYWORD');

/** A search attribute's name and type (what `defineSearchAttributeKey` returns, whatever its type). */
export type AttributeKey = ReturnType<typeof defineSearchAttributeKey>;

/** `schedule`: started by a Schedule (its daily spec or `schedule trigger`); `manual`: any other start. */
export type BackupTrigger = 'schedule' | 'manual';

export const BACKUP_SEARCH_ATTRIBUTES: ReadonlyArray<AttributeKey> = [BACKUP_ENVIRONMENT, BACKUP_DATABASE, BACKUP_SIZE_BYTES, BACKUP_VERIFIED, BACKUP_TRIGGER];

/** How the `temporal` CLI spells each type (`--search-attribute Name=Type`, `--type Type`). */
const CLI_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** Arguments for `temporal server start-dev` that register the attributes as the dev server starts. */
export function devServerSearchAttributeArgs(wanted = BACKUP_SEARCH_ATTRIBUTES): string[] {
  return wanted.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`]);
}

/** The command an operator runs to create attributes on a self-hosted cluster. */
export function createCommand(namespace: string, keys: ReadonlyArray<AttributeKey>): string {
  // One --name/--type pair per attribute: the CLI creates them all in one request.
  return `temporal operator search-attribute create --namespace ${namespace} ${keys.map((k) => `--name ${k.name} --type ${CLI_TYPE[k.type]}`).join(' ')}`;
}

/** The same for Temporal Cloud (`tcld`; the namespace there is `<name>.<account id>`). */
export function cloudCreateCommand(namespace: string, keys: ReadonlyArray<AttributeKey>): string {
  return `tcld namespace search-attributes add -n ${namespace} ${keys.map((k) => `--sa "${k.name}=${CLI_TYPE[k.type]}"`).join(' ')}`;
}

export interface SearchAttributeProblems {
  /** Not registered in the namespace at all. */
  missing: Array<AttributeKey>;
  /** Registered under the same name with another type (the server will not change it). */
  conflicting: Array<{ key: AttributeKey; registeredType: string }>;
}

/**
 * Compares what the namespace has (name → type, as listed by the server) with what backups
 * need. A run that upserts an attribute the namespace lacks does not fail: its workflow task
 * fails and is retried forever (BadSearchAttributes), so this is checked before any run starts.
 */
export function searchAttributeProblems(registered: Readonly<Record<string, string | undefined>>, wanted = BACKUP_SEARCH_ATTRIBUTES): SearchAttributeProblems {
  const problems: SearchAttributeProblems = { missing: [], conflicting: [] };
  for (const key of wanted) {
    const type = registered[key.name];
    if (type === undefined) problems.missing.push(key);
    else if (type !== key.type) problems.conflicting.push({ key, registeredType: type });
  }
  return problems;
}

export function hasProblems(problems: SearchAttributeProblems): boolean {
  return problems.missing.length > 0 || problems.conflicting.length > 0;
}

/** What to tell an operator: which attributes are wrong and the command that fixes them. */
export function describeSearchAttributeProblems(problems: SearchAttributeProblems, namespace: string): string {
  const lines: string[] = [];
  if (problems.missing.length) {
    lines.push(
      `the namespace "${namespace}" lacks the search attributes backup runs need: ${problems.missing.map((k) => `${k.name} (${CLI_TYPE[k.type]})`).join(', ')}.`,
      `Create them with \`${createCommand(namespace, problems.missing)}\` on a self-hosted cluster, ` +
        `on Temporal Cloud with \`${cloudCreateCommand(namespace, problems.missing)}\` (or in the Cloud UI, the namespace's Custom Search Attributes), ` +
        'or run `pg-backup-workflow schedule apply` with an identity allowed to.',
    );
  }
  for (const { key, registeredType } of problems.conflicting) {
    lines.push(
      `the search attribute ${key.name} exists in "${namespace}" as ${cliTypeName(registeredType)}, but backups need ${CLI_TYPE[key.type]};` +
        ' a type cannot be changed: remove the attribute (self-hosted: `temporal operator search-attribute remove`) and create it again.',
    );
  }
  return lines.join('\n');
}

function cliTypeName(type: string): string {
  return CLI_TYPE[type as SearchAttributeType] ?? type;
}

/**
 * The visibility query for completed backup runs of one label. Visibility lists closed runs
 * newest close time first (Temporal's documented default order, `ORDER BY` is rejected by SQL
 * visibility and by Temporal Cloud), so the first result of a page of size 1 is the newest.
 */
export function completedBackupsQuery(environment: string): string {
  // The label goes into a query string: only labels that can hold no quote are accepted.
  const problem = labelProblem(environment);
  if (problem) throw new Error(problem);
  return `WorkflowType = 'backupDatabase' AND ExecutionStatus = 'Completed' AND ${BACKUP_ENVIRONMENT.name} = '${environment}'`;
}
