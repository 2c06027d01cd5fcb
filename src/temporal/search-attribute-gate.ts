import type { Client } from '@temporalio/client';
import { BACKUP_SEARCH_ATTRIBUTES, describeSearchAttributeProblems, hasProblems, type AttributeKey } from '../common/search-attributes';
import { searchAttributeProblemsOf } from './search-attributes';

/** While attributes are missing, the namespace is looked at again at most this often (a run asks at its start). */
export const RECHECK_MS = 5 * 60_000;
/** A check that hangs must not hold up the local activity that asks (its timeout is 10 s). */
const CHECK_TIMEOUT_MS = 3_000;

export interface GateOptions {
  recheckMs?: number;
  wanted?: ReadonlyArray<AttributeKey>;
  /** Where the one warning goes (the worker's log). */
  warn?: (message: string) => void;
}

/**
 * Whether runs may upsert the backup search attributes. A run that upserts one the namespace
 * lacks does not fail: its workflow task fails and is retried forever while the run shows
 * Running. So the worker checks at start, warns once (naming the command that creates them)
 * and tells runs to skip the upserts; backups go on either way. While something is missing it
 * looks again every few minutes, so creating the attributes needs no worker restart.
 */
export class SearchAttributeGate {
  private ready = false;
  private checkedAt = -Infinity;
  private warned = false;
  private checking?: Promise<boolean>;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly options: GateOptions = {},
  ) {}

  /** True once every attribute exists with its type; cheap after the first answer. */
  async allowsUpserts(now = Date.now()): Promise<boolean> {
    if (this.ready || now - this.checkedAt < (this.options.recheckMs ?? RECHECK_MS)) return this.ready;
    this.checking ??= this.check(now).finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async check(now: number): Promise<boolean> {
    let problems;
    try {
      problems = await withTimeout(searchAttributeProblemsOf(this.client, this.namespace, this.options.wanted ?? BACKUP_SEARCH_ATTRIBUTES), CHECK_TIMEOUT_MS);
    } catch (err) {
      // Unknown counts as missing: a wrong guess costs tags, never a stuck run.
      this.checkedAt = now;
      this.warnOnce(`could not check the search attributes of namespace "${this.namespace}" (${(err as Error).message}); runs skip them for now`);
      return false;
    }
    this.checkedAt = now;
    this.ready = !hasProblems(problems);
    if (!this.ready) {
      this.warnOnce(
        `${describeSearchAttributeProblems(problems, this.namespace)}\n` +
          'Backups run on without them (not filterable by label in the Web UI; the freshness check lists runs by memo instead). ' +
          `This worker looks again every ${Math.round((this.options.recheckMs ?? RECHECK_MS) / 60_000)} min.`,
      );
    } else if (this.warned) {
      this.say(`the search attributes of namespace "${this.namespace}" are in place now: new runs carry them`);
    }
    return this.ready;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.say(message);
  }

  private say(message: string): void {
    (this.options.warn ?? console.warn)(message);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
