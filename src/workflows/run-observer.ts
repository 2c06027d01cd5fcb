import {
  defineSignal,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { failedStep, recordFailure, recordSuccess } from '../common/backup-metrics';
import { humanSize } from '../common/human-size';
import { formatAge } from '../freshness/state';
import { PROGRESS_SIGNAL, type StepProgress } from '../common/progress-signal';
import {
  BACKUP_DATABASE,
  BACKUP_ENVIRONMENT,
  BACKUP_SIZE_BYTES,
  BACKUP_TRIGGER,
  BACKUP_VERIFIED,
  TEMPORAL_SCHEDULED_BY_ID,
  type BackupTrigger,
} from '../common/search-attributes';
import type { BackupResult, BackupSettings } from '../common/types';
import { stepSummary } from './step-summaries';

/** Runs recorded before the search attributes existed replay without their upserts (new commands). */
const SEARCH_ATTRIBUTES_PATCH = 'pg-backup-search-attributes';

export const progressSignal = defineSignal<[StepProgress]>(PROGRESS_SIGNAL);

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

/**
 * What a backup run shows of itself, beside its history: its search attributes (label,
 * database, trigger, size, verified: what the Web UI filters on and the freshness check
 * queries), its current details (which step runs and how far, from the steps' progress
 * signals), a summary on every step, and its metrics (recorded by the SDK, never on replay).
 * None of it is a command except the upserts, which only runs whose worker found the
 * attributes in the namespace make, behind a patch so older histories replay unchanged.
 */
export class RunObserver {
  readonly trigger: BackupTrigger;
  private readonly scheduleId?: string;
  private database?: string;
  private tagging = false;
  private readonly running = new Map<string, { line: string; token: number }>();
  private readonly done: string[] = [];
  private ended?: string;
  private tokens = 0;

  constructor(private readonly environment: string) {
    this.scheduleId = workflowInfo().typedSearchAttributes.get(TEMPORAL_SCHEDULED_BY_ID);
    this.trigger = this.scheduleId ? 'schedule' : 'manual';
    setHandler(progressSignal, (progress) => this.progress(progress));
    this.show();
  }

  /** Once the label is known to be valid and the worker has answered: tags the run, if its worker says the namespace allows. */
  started(settings: BackupSettings): void {
    this.tagging = settings.searchAttributes === true && patched(SEARCH_ATTRIBUTES_PATCH);
    if (this.tagging) {
      upsertSearchAttributes([
        { key: BACKUP_ENVIRONMENT, value: this.environment },
        { key: BACKUP_TRIGGER, value: this.trigger },
      ]);
    }
  }

  /** Activities as `proxyActivities` gives them, each call carrying its summary and shown as running until it settles. */
  activities<A extends object>(options: ActivityOptions): A {
    return new Proxy({} as A, {
      get: (_, step) => (typeof step === 'string' ? (...args: unknown[]) => this.run(options, step, args) : undefined),
    });
  }

  /** The dump named the database (from the worker's DATABASE_URL…): tag and show it. */
  dumped(database: string): void {
    this.database = database;
    if (this.tagging) upsertSearchAttributes([{ key: BACKUP_DATABASE, value: database }]);
    this.show();
  }

  succeeded(result: BackupResult, startedAt: Date): void {
    if (this.tagging) {
      upsertSearchAttributes([
        { key: BACKUP_SIZE_BYTES, value: result.sizeBytes },
        ...(result.verification ? [{ key: BACKUP_VERIFIED, value: result.verification.verified }] : []),
      ]);
    }
    // Workflow clock: the time of this task, the same on replay (where the SDK skips metrics anyway).
    recordSuccess(metricMeter, { environment: this.environment, durationMs: result.durationMs, sizeBytes: result.sizeBytes, finishedAtMs: Date.now() });
    const verified = result.verification ? `, verified (${result.verification.tables} tables, ${result.verification.rows.toLocaleString('en-US')} rows)` : '';
    this.end(`Completed: ${result.fileName}, ${humanSize(result.sizeBytes)}${verified}, in ${formatAge(Date.now() - startedAt.getTime())}`);
  }

  failed(err: unknown, message: string, validLabel: boolean): void {
    recordFailure(metricMeter, { environment: validLabel ? this.environment : '(invalid label)', step: failedStep(err) });
    this.end(`Failed in ${failedStep(err)}: ${message}`);
  }

  cancelled(): void {
    this.end('Cancelled');
  }

  private async run(options: ActivityOptions, step: string, args: unknown[]): Promise<unknown> {
    const summary = stepSummary(step, args);
    const token = ++this.tokens;
    this.running.set(step, { line: `${step} running: ${summary}`, token });
    this.show();
    try {
      const result = await (proxyActivities<Record<string, AnyActivity>>({ ...options, summary })[step] as AnyActivity)(...args);
      if (!this.done.includes(step)) this.done.push(step);
      return result;
    } finally {
      if (this.running.get(step)?.token === token) this.running.delete(step);
      this.show();
    }
  }

  /** A step's report; one arriving after its step ended (signals are sent without waiting) is dropped. */
  private progress(progress: StepProgress): void {
    const current = this.running.get(progress.step);
    if (progress.database && !this.database) this.database = progress.database;
    if (current) current.line = progress.text;
    this.show();
  }

  private end(outcome: string): void {
    this.ended = outcome;
    this.running.clear();
    this.show();
  }

  /** Markdown, shown in the run's "Current Details" (the Web UI asks the workflow through its metadata query). */
  private show(): void {
    const who = this.trigger === 'schedule' ? `schedule ${this.scheduleId}` : 'manual';
    const lines = [`**${this.environment}** · ${this.database ? `database ${this.database}` : 'database not known yet'} · ${who}`, ''];
    if (this.ended) lines.push(this.ended);
    else if (this.running.size) lines.push(...[...this.running.values()].map((r) => `- ${r.line}`));
    else lines.push('starting');
    if (this.done.length) lines.push('', `Done: ${this.done.join(', ')}`);
    setCurrentDetails(lines.join('\n'));
  }
}
