import type { Client, ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import {
  BACKUP_SEARCH_ATTRIBUTES,
  cloudCreateCommand,
  createCommand,
  describeSearchAttributeProblems,
  hasProblems,
  searchAttributeProblems,
  type AttributeKey,
  type SearchAttributeProblems,
} from '../common/search-attributes';

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;

/** The namespace's custom search attributes, name → type (`KEYWORD`, `INT`, ...), as the operator service lists them. */
export async function registeredSearchAttributes(connection: Pick<ConnectionLike, 'operatorService'>, namespace: string): Promise<Record<string, string>> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return Object.fromEntries(Object.entries(customAttributes ?? {}).map(([name, type]) => [name, IndexedValueType[type].replace(/^INDEXED_VALUE_TYPE_/, '')]));
}

export interface EnsureOutcome {
  /** Created by this call. */
  created: string[];
  /** What is still wrong afterwards (nothing when the namespace is ready). */
  problems: SearchAttributeProblems;
  /** Why the missing ones could not be created (e.g. Temporal Cloud, or an identity without the right). */
  denied?: string;
}

/**
 * Creates the attributes the namespace lacks (for `schedule apply` and the dev stack). An
 * attribute registered with another type is reported, never touched: the server cannot change
 * a type, and it answers a create for an existing name with success whatever the type, so
 * what it has is listed again afterwards. Where creating is not allowed (Temporal Cloud takes
 * them from its own UI or tcld) the outcome says so instead of failing.
 */
export async function ensureSearchAttributes(
  connection: Pick<ConnectionLike, 'operatorService'>,
  namespace: string,
  wanted: ReadonlyArray<AttributeKey> = BACKUP_SEARCH_ATTRIBUTES,
): Promise<EnsureOutcome> {
  const before = searchAttributeProblems(await registeredSearchAttributes(connection, namespace), wanted);
  if (!before.missing.length) return { created: [], problems: before };
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(before.missing.map((key) => [key.name, IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]])),
    });
  } catch (err) {
    if (!isNotAllowed(err)) throw err;
    return { created: [], problems: before, denied: (err as Error).message };
  }
  const after = searchAttributeProblems(await registeredSearchAttributes(connection, namespace), wanted);
  return { created: before.missing.filter((key) => !after.missing.includes(key)).map((key) => key.name), problems: after };
}

/**
 * For `schedule apply` and `dev`: creates what is missing and says what happened, one line per
 * fact. Never throws: where the attributes cannot be created (Temporal Cloud, an identity
 * without the right, an older server), it says how to create them and the caller goes on with
 * the schedules; backups run without the attributes meanwhile.
 */
export async function ensureAndDescribe(connection: Pick<ConnectionLike, 'operatorService'>, namespace: string): Promise<string[]> {
  let outcome: EnsureOutcome;
  try {
    outcome = await ensureSearchAttributes(connection, namespace);
  } catch (err) {
    return [
      `could not look at or create the search attributes of namespace "${namespace}" (${(err as Error).message}).`,
      `Create them with \`${createCommand(namespace, BACKUP_SEARCH_ATTRIBUTES)}\` (Temporal Cloud: \`${cloudCreateCommand(namespace, BACKUP_SEARCH_ATTRIBUTES)}\`); going on with the schedules.`,
    ];
  }
  const lines: string[] = [];
  if (outcome.created.length) lines.push(`created search attributes in namespace "${namespace}": ${outcome.created.join(', ')}`);
  if (outcome.denied) lines.push(`not allowed to create search attributes in namespace "${namespace}" (${outcome.denied}).`);
  if (hasProblems(outcome.problems)) lines.push(describeSearchAttributeProblems(outcome.problems, namespace), 'Going on with the schedules.');
  else if (!outcome.created.length) lines.push(`search attributes of namespace "${namespace}": all in place`);
  return lines;
}

/**
 * What the namespace lacks, for a worker about to start: a run that upserts a missing
 * attribute would retry its workflow task forever. Listing needs the operator service; an
 * identity that may not call it still may query visibility, where an unknown attribute is an
 * invalid query: each one is probed that way then (types cannot be checked so).
 */
export async function searchAttributeProblemsOf(
  client: Client,
  namespace: string,
  wanted: ReadonlyArray<AttributeKey> = BACKUP_SEARCH_ATTRIBUTES,
): Promise<SearchAttributeProblems> {
  try {
    return searchAttributeProblems(await registeredSearchAttributes(client.connection, namespace), wanted);
  } catch (err) {
    if (!isNotAllowed(err)) throw err;
    return { missing: await unknownToVisibility(client, wanted), conflicting: [] };
  }
}

/** The attributes a visibility query rejects as unknown (INVALID_ARGUMENT: "... is not a valid search attribute"). */
export async function unknownToVisibility(client: Client, wanted: ReadonlyArray<AttributeKey> = BACKUP_SEARCH_ATTRIBUTES): Promise<AttributeKey[]> {
  const unknown: AttributeKey[] = [];
  for (const key of wanted) {
    try {
      await client.workflow.count(`${key.name} IS NULL`);
    } catch (err) {
      if (!isUnknownSearchAttribute(err)) throw err;
      unknown.push(key);
    }
  }
  return unknown;
}

/** A visibility query refused because it names a search attribute the namespace does not have. */
export function isUnknownSearchAttribute(err: unknown): boolean {
  return /not a valid search attribute|no mapping defined for search attribute/i.test(messages(err));
}

function isNotAllowed(err: unknown): boolean {
  const code = (err as { code?: unknown }).code ?? ((err as { cause?: { code?: unknown } }).cause ?? {}).code;
  return code === PERMISSION_DENIED || code === UNIMPLEMENTED;
}

/** An error's message with its causes': the SDK wraps the server's words ("Failed to count workflows" ← INVALID_ARGUMENT: ...). */
function messages(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(' ← ');
}
